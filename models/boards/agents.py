"""The agents table: each agent's calls, confirmations and what became of their orders."""

from collections import defaultdict
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from models.base import db
from models.orders.agent_days import AgentDayCount
from models.status import Confirmation, Role, Shipping
from models.user import User

from .histogram import median_bucket
from .period import Period
from .tables import AGENT, NO_KEY, AgentCallCount, OrderDayCount

DECIDED = (Confirmation.CONFIRMED, Confirmation.CANCELED, Confirmation.FAKE)
# Parcels whose fate is known, or is coming back: delivery rate's denominator.
SETTLED = (Shipping.DELIVERED, Shipping.RETURNED, Shipping.IN_RETURN)


@dataclass(frozen=True)
class AgentRow:
    """One agent's figures for a period (rates are fractions; None when nothing to divide)."""

    id: int
    name: str
    calls: int = 0
    confirmed: int = 0
    confirmation_rate: float | None = None
    seconds_per_call: int | None = None  # the median bucket's lower bound
    delivery_rate: float | None = None

    @property
    def has_figures(self) -> bool:
        """True when the period gave this agent anything to show."""
        return bool(self.calls) or self.confirmation_rate is not None

    @property
    def time_per_call(self) -> str | None:
        """The median time per call as people read it: "45 s", "2 min 5 s", "1 h"."""
        if self.seconds_per_call is None:
            return None
        hours, rest = divmod(self.seconds_per_call, 3600)
        minutes, seconds = divmod(rest, 60)
        parts = []
        if hours:
            parts.append(_("%(n)d h", n=hours))
        if minutes:
            parts.append(_("%(n)d min", n=minutes))
        if seconds or not parts:
            parts.append(_("%(n)d s", n=seconds))
        return " ".join(parts)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _call_days(period: Period) -> dict[int, tuple[int, int]]:
    """(calls, confirmed) per agent over the period's call days."""
    t = AgentDayCount
    rows = db.session.execute(
        select(t.agent_id, func.sum(t.calls), func.sum(t.confirmed))
        .where(t.day >= period.first, t.day <= period.last).group_by(t.agent_id))
    return {agent_id: (int(calls), int(confirmed)) for agent_id, calls, confirmed in rows}


def _call_times(period: Period) -> dict[int, dict[int, int]]:
    """Per agent, the period's calls counted by time bucket (seconds)."""
    t = AgentCallCount
    times: dict[int, dict[int, int]] = defaultdict(dict)
    for agent_id, seconds, n in db.session.execute(
            select(t.agent_id, t.seconds, func.sum(t.n))
            .where(t.day >= period.first, t.day <= period.last)
            .group_by(t.agent_id, t.seconds)):
        if n:
            times[agent_id][seconds] = int(n)
    return times


def _outcomes(period: Period) -> dict[int, dict[tuple[str, str], int]]:
    """Per agent, the period's arrivals they last handled, by (confirmation, shipping)."""
    t = OrderDayCount
    found: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    for key, conf, ship, n in db.session.execute(
            select(t.key, t.confirmation_status, t.shipping_status, func.sum(t.n))
            .where(t.dim == AGENT, t.key > NO_KEY,  # '': orders no agent has called
                   t.day >= period.first, t.day <= period.last)
            .group_by(t.key, t.confirmation_status, t.shipping_status)):
        if n:
            found[int(key)][(conf, ship)] = int(n)
    return found


def _row(user: User, calls: tuple[int, int], times: dict[int, int],
         outcomes: dict[tuple[str, str], int]) -> AgentRow:
    by_conf: dict[str, int] = defaultdict(int)
    for (conf, _ship), n in outcomes.items():
        by_conf[conf] += n
    shipped = {ship: n for (conf, ship), n in outcomes.items() if conf == Confirmation.CONFIRMED}
    return AgentRow(
        id=user.id, name=user.display_name, calls=calls[0], confirmed=calls[1],
        confirmation_rate=_ratio(by_conf[Confirmation.CONFIRMED],
                                 sum(by_conf[c] for c in DECIDED)),
        seconds_per_call=median_bucket(times),
        delivery_rate=_ratio(shipped.get(Shipping.DELIVERED, 0),
                             sum(shipped.get(s, 0) for s in SETTLED)))


def agent_rows(period: Period) -> list[AgentRow]:
    """Every agent (and anyone with calls in the period), most confirmations first."""
    calls, times, outcomes = _call_days(period), _call_times(period), _outcomes(period)
    seen = set(calls) | set(times) | set(outcomes)
    users = db.session.scalars(
        select(User).where(or_(User.role == Role.AGENT, User.id.in_(seen)))).all()
    rows = [_row(u, calls.get(u.id, (0, 0)), times.get(u.id, {}), outcomes.get(u.id, {}))
            for u in users]
    return sorted(rows, key=lambda r: (-r.confirmed, r.name.casefold(), r.id))
