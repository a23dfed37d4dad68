"""Login (password, then a code when the second factor is on) and logout views."""

import time
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from extensions import db
from models import User
from models.status import Role
from models.totp import accept_code

from ..i18n import LANGUAGES
from ..web import role_required
from . import bp, sessions
from .forms import CodeForm, LoginForm
from .throttle import PENDING, login_limits, remember_device

# How long the code step waits after a right password before asking for it again.
PENDING_SECONDS = 300


def _safe_next(target: str | None) -> str:
    """Only follow a `next` that stays on this site."""
    if target and not urlsplit(target).netloc and target.startswith("/") and "//" not in target:
        return target
    return url_for("home.index")


def _pending_user() -> User | None:
    """The user whose password was right and whose code is awaited, if still valid."""
    pending = session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    user = db.session.get(User, pending["id"])
    if user is None or not user.active or not user.totp_enabled \
            or user.session_version != pending["version"]:
        session.pop(PENDING, None)
        return None
    return user


def login_page(form=None, refusal: str | None = None) -> str:
    """The login page at its current step: the password form, or the code form."""
    if session.get(PENDING):
        return render_template("auth/code.html", form=form or CodeForm(), refusal=refusal)
    return render_template("auth/login.html", form=form or LoginForm(), refusal=refusal)


def _signed_in(user: User):
    """Start the user's new session and send them where they were going."""
    sessions.start(user)
    response = redirect(_safe_next(request.args.get("next")), code=303)
    remember_device(response, user.username)
    return response


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    """Show the login form and sign a user in (asking for a code when they use one)."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    pending = _pending_user()
    if pending is not None:
        return _code_step(pending)
    form = LoginForm()
    if not form.validate_on_submit():
        return login_page(form), 422 if form.is_submitted() else 200
    user = db.session.execute(
        select(User).filter_by(username=form.username.data.strip())
    ).scalar_one_or_none()
    if not (user and user.active and user.check_password(form.password.data)):
        form.password.errors.append(_("Wrong username or password."))
        return login_page(form), 401
    if not user.totp_enabled:
        return _signed_in(user)
    sessions.fresh()  # nothing from before the password survives into the code step
    session[PENDING] = {"id": user.id, "version": user.session_version,
                        "name": user.username, "at": int(time.time())}
    return login_page()


def _code_step(user: User):
    """Second step of a login: the code from the user's authenticator app."""
    if request.method == "POST" and "cancel" in request.form:
        session.pop(PENDING, None)
        return redirect(url_for("auth.login", next=request.args.get("next")), code=303)
    form = CodeForm()
    if not form.validate_on_submit():
        return login_page(form), 422 if form.is_submitted() else 200
    if not accept_code(user, form.code.data):
        db.session.commit()
        form.code.errors.append(_("That code is wrong or was already used. "
                                  "Wait for the next one."))
        return login_page(form), 401
    db.session.commit()  # the accepted step, so the code cannot be used again
    return _signed_in(user)


@bp.post("/logout")
@login_required
def logout():
    """End this user's sessions everywhere and go back to the login page."""
    db.session.get(User, current_user.id).end_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/account/language")
@role_required(*Role)
def set_language():
    """Save the language this user reads codboard in, and reload the page they were on."""
    chosen = request.form.get("language", "")
    if chosen not in LANGUAGES:
        abort(422, _("Choose English, French or Arabic."))
    user = db.session.get(User, current_user.id)
    user.language = chosen
    db.session.commit()
    return redirect(_safe_next(request.form.get("next")), code=303)
