"""Password policy: long enough, not a common password, not the username."""

from functools import cache
from pathlib import Path

from flask_babel import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 200
LIST = Path(__file__).resolve().parent / "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (read once per process)."""
    lines = LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("# "))


def password_problem(password: str, username: str = "") -> str | None:
    """Why this password is refused, in the reader's language; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(min)s characters.", min=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(max)s characters.", max=MAX_LENGTH)
    folded = password.strip().lower()
    if username and folded == username.strip().lower():
        return _("Do not use your username as your password.")
    if folded in common_passwords():
        return _("This password is one of the most common ones; choose another.")
    return None
