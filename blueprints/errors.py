"""Every refusal becomes a readable page or htmx fragment, never a 500 for bad input."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from extensions import db
from models.errors import DomainError

from .web import is_fragment

API_PREFIX = "/api/"
TITLES = {
    400: _l("That request was not understood"),
    401: _l("Please log in"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed here"),
    409: _l("Someone got there first"),
    422: _l("Please check what you entered"),
    500: _l("Something went wrong"),
}


def error_response(status: int, message: str, title: str | None = None):
    """Render a message as a page, or as a fragment swapped into #messages for htmx."""
    db.session.rollback()
    title = title or TITLES.get(status, _("Error"))
    if is_fragment() or request.headers.get("HX-Request") == "true":
        html = render_template("_partials/error.html", title=title, message=message,
                               status=status)
        return html, status, {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    return render_template("error.html", title=title, message=message, status=status), status


def init_app(app) -> None:
    """Register the error handlers."""

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error_response(exc.status_code, exc.message, exc.title)

    @app.errorhandler(StaleDataError)
    @app.errorhandler(IntegrityError)
    def concurrent_change(exc):
        # The version check or a unique constraint caught a concurrent write.
        return error_response(409, _("Someone else changed this at the same moment; "
                                     "nothing of yours was saved. Reload and try again."))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, _("Your form expired or was sent from elsewhere. "
                                     "Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(API_PREFIX):
            # No API rule matched (a wrong method or path): still the API's JSON shape.
            from .api.auth import api_error

            return api_error(exc.code or 400, exc.description or exc.name)
        messages = {
            403: _l("Your role does not give access to this."),
            404: _l("There is nothing here. It may have been removed, or the link is wrong."),
        }
        message = messages.get(exc.code)
        if message is None:
            # Werkzeug's own descriptions are English; a message given to abort() is ours.
            own = exc.description != type(exc).description
            message = exc.description if own else _("Go back and try again.")
        return error_response(exc.code or 500, message)

    @app.errorhandler(500)
    def server_error(exc):
        return error_response(500, _("The error was logged. Try again in a moment."))
