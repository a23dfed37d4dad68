"""Login, logout and how a session finds its user."""

from flask import Blueprint, redirect, request, url_for

from extensions import login_manager
from models.user import SessionUser, session_user

from ..web import MAX_ID

bp = Blueprint("auth", __name__)


def init_app(app) -> None:
    """Wire Flask-Login to the users table, session timeouts and login throttling."""
    from datetime import timedelta

    from . import sessions, throttle

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    # The session cookie outlives no session: both follow SESSION_ABSOLUTE_HOURS.
    app.permanent_session_lifetime = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
    app.before_request(sessions.check_timeouts)
    throttle.init_app(app)


@login_manager.user_loader
def load_user(session_id: str) -> SessionUser | None:
    """Find the user for a session; a stale session version means logged out."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit() or int(user_id) > MAX_ID:
        return None
    return session_user(int(user_id), int(version))


@login_manager.unauthorized_handler
def unauthorized():
    """Send anonymous visitors to the login page; htmx gets a redirect header."""
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


from . import account, views  # noqa: E402,F401
