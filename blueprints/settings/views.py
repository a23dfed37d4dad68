"""Settings views (admin): the users, and the language each one reads codboard in."""

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import User
from models.status import ROLE_LABELS, Role

from ..i18n import LANGUAGES
from ..web import form_error, get_or_404, render, role_required
from . import bp
from .forms import UserLanguageForm


def language_choices() -> dict[str, str]:
    """"" (the browser decides) first, then each language by its own name."""
    return {"": _("The browser's language"), **LANGUAGES}


def _language_form(user: User | None = None) -> UserLanguageForm:
    """The language select of one user (or the one just posted)."""
    form = (UserLanguageForm(formdata=None, data={"language": user.language or ""})
            if user is not None else UserLanguageForm())
    form.language.choices = language_choices()
    return form


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    """The admin's home: who can log in, as what, and in which language."""
    people = list(db.session.execute(select(User).order_by(User.role, User.username)).scalars())
    return render("settings/users.html", users=people, roles=ROLE_LABELS,
                  forms={u.id: _language_form(u) for u in people})


@bp.post("/users/<int:user_id>/language")
@role_required(Role.ADMIN)
def set_user_language(user_id: int):
    """Set the language a user reads codboard in ("" follows their browser)."""
    user = get_or_404(User, user_id)
    form = _language_form()
    if not form.validate():
        raise form_error(form)
    user.language = form.language.data
    db.session.commit()
    chosen = LANGUAGES.get(user.language) or _("the browser's language")
    flash(_("%(user)s now reads codboard in %(language)s.", user=user.display_name,
            language=chosen), "success")
    return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), code=303)
