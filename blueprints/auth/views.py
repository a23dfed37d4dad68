"""Login and logout views."""

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from extensions import db
from models import User
from models.status import Role

from ..i18n import LANGUAGES
from ..web import role_required
from . import bp
from .forms import LoginForm


def _safe_next(target: str | None) -> str:
    """Only follow a `next` that stays on this site."""
    if target and not urlsplit(target).netloc and target.startswith("/") and "//" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and sign a user in."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(
            select(User).filter_by(username=form.username.data.strip())
        ).scalar_one_or_none()
        if user and user.active and user.check_password(form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")), code=303)
        form.password.errors.append(_("Wrong username or password."))
        return render_template("auth/login.html", form=form), 401
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """End this user's sessions everywhere and go back to the login page."""
    db.session.get(User, current_user.id).end_sessions()
    db.session.commit()
    logout_user()
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
