"""Helpers every blueprint shares: role guard, page-or-fragment rendering, errors."""

from functools import wraps

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from extensions import db
from models.errors import InvalidInput
from models.status import Role


def role_required(*roles: Role):
    """Require a logged-in user whose role is one of these (admin always passes)."""
    allowed = {Role(r) for r in roles} | {Role.ADMIN}

    def decorate(view):
        @login_required
        @wraps(view)
        def guarded(*args, **kwargs):
            if Role(current_user.role) not in allowed:
                abort(403)
            return view(*args, **kwargs)

        guarded.roles = allowed
        return guarded

    return decorate


def is_fragment() -> bool:
    """True for an htmx request that swaps part of a page (not boosted, not a restore)."""
    hx = request.htmx
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(template: str, block: str | None = None, status: int = 200, **context):
    """Render the whole page, or only `block` of it when htmx asks for a fragment."""
    if block and is_fragment():
        return render_block(template, block, **context), status
    return render_template(template, **context), status


MAX_ID = 2**31 - 1  # the largest integer key PostgreSQL stores


def get_or_404(model, ident: int):
    """The row with this id, or 404 (also for ids no database could hold)."""
    if not 0 < ident <= MAX_ID:
        abort(404)
    return db.session.get(model, ident) or abort(404)


def form_error(form) -> InvalidInput:
    """A form's first validation message as a domain error (rendered as a 422)."""
    for name, errors in form.errors.items():
        field = getattr(form, name, None)
        return InvalidInput(_("%(field)s: %(message)s",
                              field=field.label.text if field else name, message=errors[0]))
    return InvalidInput(_("The form was incomplete."))
