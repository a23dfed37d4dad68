"""The landing redirect: each role goes to the screen it works on."""

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from models.status import Role

bp = Blueprint("home", __name__)

HOMES = {
    Role.AGENT: "calls.index",
    Role.OPERATOR: "shipping.index",
    Role.MANAGER: "boards.index",
    Role.ADMIN: "settings.users",
}


@bp.get("/")
@login_required
def index():
    """Send each user to the home screen of their role."""
    return redirect(url_for(HOMES[Role(current_user.role)]))
