"""People who log in, with their role, a session version that logout bumps and an
optional second factor."""

from dataclasses import dataclass

from flask_login import UserMixin
from sqlalchemy import String, bindparam, select, text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Timestamps, db
from .crypto import EncryptedText
from .status import Role


class User(UserMixin, Timestamps, db.Model):
    """A login: agent, operator, manager or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the session id: bumping it ends every session of this user,
    # which a signed cookie alone could not do.
    session_version: Mapped[int] = mapped_column(default=1)
    # "en", "fr" or "ar"; empty follows the browser's Accept-Language.
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # TOTP second factor (models/totp.py): the secret is set when enrolment starts and
    # only asked for at login once a code confirmed it.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_enabled: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    totp_last_step: Mapped[int | None]

    def set_password(self, password: str) -> None:
        """Store a salted hash, never the password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Session id: the user id and session version together."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        """Disabled users cannot log in and lose their sessions."""
        return self.active

    @property
    def role_enum(self) -> Role:
        """The role as an enum."""
        return Role(self.role)

    def end_sessions(self) -> None:
        """Invalidate every session this user has open, on every device."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def display_name(self) -> str:
        """Name to show, falling back to the username."""
        return self.name or self.username


@dataclass(frozen=True, eq=False)
class SessionUser(UserMixin):
    """The logged-in user as requests see them: one plain row read per request.

    Not an ORM object, so it never reloads after a commit; change the person
    through User (see logout).
    """

    id: int
    username: str
    name: str
    role: str
    active: bool
    session_version: int
    language: str

    get_id = User.get_id
    is_active = User.is_active
    role_enum = User.role_enum
    display_name = User.display_name


_COLUMNS = User.__table__.c
_SESSION_USER = select(
    _COLUMNS.id, _COLUMNS.username, _COLUMNS.name, _COLUMNS.role, _COLUMNS.active,
    _COLUMNS.session_version, _COLUMNS.language,
).where(_COLUMNS.id == bindparam("user_id"))


def session_user(user_id: int, session_version: int) -> SessionUser | None:
    """The active user with this id whose sessions are at this version, or None."""
    row = db.session.execute(_SESSION_USER, {"user_id": user_id}).first()
    if row is None or not row.active or row.session_version != session_version:
        return None
    return SessionUser(*row)
