"""The API's documentation page: Swagger UI (vendored) over openapi.json."""

from flask import render_template

from . import bp

# Vendored by scripts/vendor.sh (SWAGGER_UI_VERSION); the page loads nothing from elsewhere.
SWAGGER_UI = "vendor/swagger-ui-5.35.0"


@bp.get("/docs")
def docs():
    """The API documented for people (public, like the document it shows)."""
    return render_template("api/docs.html", swagger_ui=SWAGGER_UI)
