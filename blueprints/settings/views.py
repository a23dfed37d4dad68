"""Settings views (admin)."""

from sqlalchemy import select

from extensions import db
from models import User
from models.status import Role

from ..web import render, role_required
from . import bp


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    """The admin's home: who can log in, and as what."""
    people = db.session.execute(select(User).order_by(User.role, User.username)).scalars()
    return render("settings/users.html", users=list(people))
