"""Security headers on every response: a strict Content-Security-Policy and its companions.

Pages load only the app's own files: no inline <script>, no inline style, no eval (htmx is
configured with allowEval false in base.html). To add behaviour, put it in static/js/ and
load it with <script src>; to add looks, a class in static/css/.
"""

from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    # Pico's form icons (checkmarks, select arrows) are data: SVGs in its stylesheet.
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# One route may loosen one directive, each for a reason given here.
EXCEPTIONS = {
    # The sandbox plays a carrier's own printable label (another company's page, its
    # <style> and barcode styles inline as real carriers send them); never on in production.
    "sandbox.parcel_label": {"style-src": "'self' 'unsafe-inline'"},
}

PERMISSIONS = ", ".join(f"{feature}=()" for feature in (
    "camera", "microphone", "geolocation", "payment", "usb",
))

# A year; no includeSubDomains, since other services may share the shop's domain.
HSTS = "max-age=31536000"


def policy_for(endpoint: str | None) -> str:
    """The Content-Security-Policy header value for a route."""
    directives = {**POLICY, **EXCEPTIONS.get(endpoint or "", {})}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def init_app(app) -> None:
    """Add the headers to every response; trust one proxy's X-Forwarded-* if TRUST_PROXY."""
    if app.config.get("TRUST_PROXY"):
        # Behind a TLS-terminating proxy the app sees http; the proxy's X-Forwarded-Proto
        # tells it the visitor used https (for HSTS and secure redirects).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy_for(request.endpoint))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", PERMISSIONS)
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
