"""What a board is looking at: a period of local days and at most one slice of the orders."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from .tables import ALL, NO_KEY

PERIODS = {"today": _l("Today"), "yesterday": _l("Yesterday"), "7d": _l("Last 7 days"),
           "30d": _l("Last 30 days"), "custom": _l("Custom")}
# A custom period reads one rollup row per day and status: a year is plenty for a board.
LONGEST_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Local calendar days from `first` to `last`, both included."""

    first: date
    last: date
    name: str = "custom"

    @classmethod
    def named(cls, name: str, today: date) -> "Period":
        """Today, yesterday, the last 7 or 30 days (today included)."""
        spans = {"today": (0, 0), "yesterday": (1, 1), "7d": (6, 0), "30d": (29, 0)}
        back, end = spans[name]
        return cls(today - timedelta(days=back), today - timedelta(days=end), name)

    @property
    def days(self) -> list[date]:
        """Every day of the period, oldest first."""
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The period as naive UTC [start, end), for queries on timestamps."""
        zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)

        return midnight(self.first), midnight(self.last + timedelta(days=1))


@dataclass(frozen=True)
class Slice:
    """One dimension's key (a channel id, a city…), or every order (`all`)."""

    dim: str = ALL
    key: str = NO_KEY


def today() -> date:
    """The business's current calendar day."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.now(zone).date()
