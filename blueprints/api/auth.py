"""The API's edge: who is calling (a channel's bearer key), and refusals as JSON.

Every refusal of an api.* endpoint is {"error": "...", "fields": [...]}, never an HTML
page: a machine reads it, and a person reads its message.
"""

from functools import wraps

from flask import jsonify, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from models.base import db
from models.errors import DomainError
from models.intake.api_keys import authenticate

from . import bp

REALM = 'Bearer realm="codboard"'


class Refused(Exception):
    """A request the API turns down: status, a human message, the request fields at fault."""

    def __init__(self, status: int, message: str, fields=(), headers=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.fields, self.headers = list(fields), headers or {}


def api_error(status: int, message: str, fields=(), headers=None):
    """The JSON error document (the transaction is rolled back: nothing half done stays)."""
    db.session.rollback()
    response = jsonify(error=message, fields=list(fields))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def key_required(view):
    """Call the view with the ApiCaller the request's bearer key names, or answer 401."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "Send your API key as “Authorization: Bearer <key>”.",
                          headers={"WWW-Authenticate": REALM})
        caller = authenticate(token.strip())
        if caller is None:
            raise Refused(401, "This API key is unknown or was revoked.",
                          headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
        return view(caller, *args, **kwargs)

    return wrapped


@bp.errorhandler(Refused)
def refused(exc: Refused):
    """A refusal the API itself decided."""
    return api_error(exc.status, exc.message, exc.fields, exc.headers)


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    """A rule of the domain refused the request (its own status and message)."""
    return api_error(exc.status_code, exc.message)


@bp.errorhandler(StaleDataError)
@bp.errorhandler(IntegrityError)
def concurrent_change(_exc):
    """A unique constraint or a version check caught a concurrent write: nothing saved."""
    return api_error(409, "Someone else changed this at the same moment; nothing was saved. "
                          "Send the request again.")


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Werkzeug's refusals (a body over the limit, ...) in the API's shape."""
    return api_error(exc.code or 400, exc.description or exc.name)


@bp.errorhandler(InternalServerError)
def server_error(_exc):
    """A bug: logged by Flask, answered in the API's shape."""
    return api_error(500, "The error was logged. Try again in a moment.")
