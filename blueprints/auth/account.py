"""The account page: change one's password, set up or turn off the second factor; an admin
resets someone else's second factor."""

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from extensions import db
from models import User
from models.passwords import password_problem
from models.status import Role
from models.totp import (
    accept_code,
    confirm_enrolment,
    may_enrol,
    provisioning_uri,
    start_enrolment,
    turn_off,
)

from ..web import get_or_404, render, role_required
from . import bp, sessions
from .forms import CodeForm, EmptyForm, PasswordChangeForm
from .throttle import code_limits


def _me() -> User:
    return db.session.get(User, current_user.id)


def _page(status: int = 200, password_form=None, code_form=None):
    """The account page, with the forms as posted when one was refused."""
    user = _me()
    return render("auth/account.html", status=status, user=user,
                  password_form=password_form or PasswordChangeForm(formdata=None),
                  code_form=code_form or CodeForm(formdata=None), button=EmptyForm(),
                  may_enrol=may_enrol(user),
                  uri=provisioning_uri(user) if user.totp_secret else None)


@bp.get("/account")
@role_required(*Role)
def account():
    """Your password and, for managers and admins, the second factor."""
    return _page()


@bp.post("/account/password")
@role_required(*Role)
@code_limits
def change_password():
    """Change your password; other devices are logged out, this one stays in."""
    form, user = PasswordChangeForm(), _me()
    if not form.validate_on_submit():
        return _page(422, password_form=form)
    if not user.check_password(form.current.data):
        form.current.errors.append(_("That is not your current password."))
        return _page(422, password_form=form)
    problem = password_problem(form.new.data, user.username)
    if problem is not None:
        form.new.errors.append(problem)
        return _page(422, password_form=form)
    user.set_password(form.new.data)
    user.end_sessions()
    db.session.commit()
    sessions.start(user)
    flash(_("Your password is changed. Your other devices are logged out."), "success")
    return redirect(url_for("auth.account"), code=303)


@bp.post("/account/second-factor")
@role_required(Role.MANAGER)
def start_second_factor():
    """Make a new secret to add to an authenticator app (login asks once it is confirmed)."""
    user = _me()
    if user.totp_enabled:
        flash(_("Your second factor is already on."), "info")
    else:
        start_enrolment(user)
        db.session.commit()
    return redirect(url_for("auth.account", _anchor="second-factor"), code=303)


@bp.post("/account/second-factor/confirm")
@role_required(Role.MANAGER)
@code_limits
def confirm_second_factor():
    """Turn the second factor on with a code the app shows."""
    form, user = CodeForm(), _me()
    if form.validate_on_submit() and confirm_enrolment(user, form.code.data):
        db.session.commit()
        flash(_("Second factor on: login now asks for a code after your password."), "success")
        return redirect(url_for("auth.account", _anchor="second-factor"), code=303)
    db.session.commit()  # a code accepted before the refusal stays used
    form.code.errors.append(_("That code is wrong or was already used. Wait for the next one."))
    return _page(422, code_form=form)


@bp.post("/account/second-factor/off")
@role_required(Role.MANAGER)
@code_limits
def disable_second_factor():
    """Turn the second factor off, proving it with a current code."""
    form, user = CodeForm(), _me()
    if form.validate_on_submit() and user.totp_enabled and accept_code(user, form.code.data):
        turn_off(user)
        db.session.commit()
        flash(_("Second factor off: login asks for your password only."), "success")
        return redirect(url_for("auth.account", _anchor="second-factor"), code=303)
    db.session.commit()
    form.code.errors.append(_("That code is wrong or was already used. Wait for the next one."))
    return _page(422, code_form=form)


@bp.post("/users/<int:user_id>/second-factor/reset")
@role_required(Role.ADMIN)
def reset_second_factor(user_id: int):
    """Turn off someone's second factor (a lost phone); they can set it up again."""
    user = get_or_404(User, user_id)
    turn_off(user)
    user.end_sessions()
    db.session.commit()
    flash(_("%(user)s logs in with a password only until they set up a second factor again.",
            user=user.display_name), "success")
    return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), code=303)
