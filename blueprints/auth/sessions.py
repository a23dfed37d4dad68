"""Session lifetime: a fresh session at every login, idle and absolute timeouts."""

import time

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import ngettext
from flask_login import login_user, logout_user

STARTED = "_started"
SEEN = "_seen"
# Rewriting the cookie on every request would add a Set-Cookie to each poll; a minute's
# precision is plenty for a timeout counted in minutes.
TOUCH_SECONDS = 60


def fresh() -> None:
    """Empty the session, CSRF token included (Flask-WTF also caches it for the request)."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def start(user) -> None:
    """Log the user in on a brand-new session: nothing from before (a planted session id,
    the old CSRF token) survives the login."""
    fresh()
    login_user(user)
    session.permanent = True  # the cookie itself expires with SESSION_ABSOLUTE_HOURS
    session[STARTED] = session[SEEN] = int(time.time())


def _ended_because(now: int) -> str | None:
    """Why this session is over, or None while it is still alive."""
    config = current_app.config
    hours, minutes = config["SESSION_ABSOLUTE_HOURS"], config["SESSION_IDLE_MINUTES"]
    if now - session.get(STARTED, now) > hours * 3600:
        return ngettext("Your session ended %(num)d hour after you logged in. Log in again.",
                        "Your session ended %(num)d hours after you logged in. Log in again.",
                        hours)
    if now - session.get(SEEN, now) > minutes * 60:
        return ngettext("Your session ended after %(num)d minute without activity. "
                        "Log in again.",
                        "Your session ended after %(num)d minutes without activity. "
                        "Log in again.", minutes)
    return None


def check_timeouts():
    """Before each request: end a session idle or old past its limit, else note activity."""
    if "_user_id" not in session or request.endpoint in (None, "static"):
        return None
    now = int(time.time())
    if STARTED not in session:
        # A session from before timeouts existed: its clock starts now.
        session[STARTED] = session[SEEN] = now
        return None
    reason = _ended_because(now)
    if reason is None:
        if now - session[SEEN] >= TOUCH_SECONDS:
            session[SEEN] = now
        return None
    logout_user()
    session.clear()
    flash(reason, "info")
    if request.endpoint == "auth.login":
        return None
    target = url_for("auth.login", next=request.full_path.rstrip("?")
                     if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        # htmx follows HX-Redirect with a full page load instead of swapping the login
        # page into a fragment.
        return "", 401, {"HX-Redirect": target}
    return redirect(target)
