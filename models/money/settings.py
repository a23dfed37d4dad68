"""When a delivered parcel's cash counts as overdue, stored with the other settings."""

from dataclasses import dataclass

from flask_babel import gettext as _

from models.errors import InvalidInput
from models.settings import StoredSettings

LONGEST_OVERDUE_DAYS = 365


@dataclass(frozen=True)
class MoneySettings(StoredSettings):
    """How the money board judges carriers' payouts."""

    PREFIX = "money."

    # Delivered parcels not paid out after this many days are overdue.
    overdue_days: int = 14


def parse_overdue_days(text: str | None) -> int:
    """The overdue threshold as typed; InvalidInput unless a whole number from 1 to 365."""
    value = (text or "").strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= LONGEST_OVERDUE_DAYS:
        raise InvalidInput(_("Overdue after: write a whole number of days from 1 to "
                             "%(longest)d (“%(typed)s” is not one).",
                             longest=LONGEST_OVERDUE_DAYS, typed=value[:20]))
    return int(value)
