"""The optional second factor: time-based one-time codes (RFC 6238) for managers and admins."""

import time
import unicodedata

import pyotp
from sqlalchemy import or_, update

from .base import db
from .status import Role
from .user import User

ISSUER = "codboard"
ROLES = {Role.MANAGER.value, Role.ADMIN.value}
# One 30-second step either side absorbs a phone clock a little off.
DRIFT_STEPS = 1


def may_enrol(user) -> bool:
    """Only managers and admins are offered a second factor."""
    return user.role in ROLES


def start_enrolment(user: User) -> str:
    """A fresh secret for this user, not asked for at login until a code confirms it."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled = False
    user.totp_last_step = None
    db.session.flush()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads (typed in or as a QR code)."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username,
                                                         issuer_name=ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step this code belongs to (now, or one step either side), or None."""
    # Phones may type Arabic-Indic digits; the code is the same number.
    digits = [unicodedata.digit(ch, None) for ch in code if not ch.isspace()]
    if len(digits) != 6 or None in digits:
        return None
    code = "".join(map(str, digits))
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def accept_code(user: User, code: str) -> bool:
    """True once per code: the step is recorded with a guarded UPDATE, so the same code
    (or an older one) sent again, even at the same moment, is refused."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code)
    if step is None:
        return False
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id,
               or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(user, ["totp_last_step"])
    return claimed == 1


def confirm_enrolment(user: User, code: str) -> bool:
    """Turn the second factor on once the user's app shows a right code."""
    if user.totp_enabled or not accept_code(user, code):
        return False
    user.totp_enabled = True
    db.session.flush()
    return True


def turn_off(user: User) -> None:
    """Forget the secret: login asks for the password only (after a code, or an admin reset)."""
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    db.session.flush()
