"""Each agent's figures for the local day, kept as one counter row per agent and day.

The call screen shows them after every outcome; counting the day's audit events
each time would grow with the shift, so the outcome's own transaction bumps the row.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Date, ForeignKey, Index, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db
from models.status import Confirmation


class AgentDayCount(db.Model):
    """Calls, confirmations and the current run of confirmations of one agent on one day."""

    __tablename__ = "agent_day_counts"
    # The boards' agents table reads every agent's days of a period.
    __table_args__ = (Index("ix_agent_day_counts_day", "day", "agent_id"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(default=0)
    confirmed: Mapped[int] = mapped_column(default=0)
    streak: Mapped[int] = mapped_column(default=0)
    last_action_at: Mapped[datetime | None]


@dataclass
class AgentDay:
    """An agent's figures for one day."""

    calls: int = 0
    confirmed: int = 0
    streak: int = 0
    last_action: datetime | None = None

    @property
    def rate(self) -> int | None:
        """Confirmed calls as a whole percentage of calls."""
        return round(100 * self.confirmed / self.calls) if self.calls else None


def local_day(moment: datetime) -> date:
    """The agents' calendar day of a naive UTC time."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def day_start(day: date) -> datetime:
    """Midnight of an agents' day, as naive UTC."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)


TABLE = AgentDayCount.__table__


def _bump_statement(dialect_name: str):
    """INSERT … ON CONFLICT that counts one call; the streak restarts on anything but Confirmed."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(TABLE).values(
        agent_id=bindparam("agent_id"), day=bindparam("day"), calls=1,
        confirmed=bindparam("confirmed"), streak=bindparam("confirmed"),
        last_action_at=bindparam("at"))
    return stmt.on_conflict_do_update(
        index_elements=["agent_id", "day"],
        set_={"calls": TABLE.c.calls + 1,
              "confirmed": TABLE.c.confirmed + stmt.excluded.confirmed,
              "streak": case((stmt.excluded.confirmed == 1, TABLE.c.streak + 1), else_=0),
              "last_action_at": stmt.excluded.last_action_at},
    ).returning(TABLE.c.calls, TABLE.c.confirmed, TABLE.c.streak, TABLE.c.last_action_at)


_BUMP = {name: _bump_statement(name) for name in ("postgresql", "sqlite")}


def count_call(agent_id: int, outcome: str, at: datetime) -> AgentDay:
    """Add one recorded call outcome to the agent's day (in the caller's transaction);
    the day's figures with it."""
    stmt = _BUMP[db.session.get_bind().dialect.name]
    row = db.session.execute(stmt, {"agent_id": agent_id, "day": local_day(at), "at": at,
                                    "confirmed": int(outcome == Confirmation.CONFIRMED)}).one()
    return AgentDay(*row)


def agent_days(agent_ids: list[int], day: date) -> dict[int, AgentDay]:
    """Each agent's figures for `day` (zeros for an agent with no call yet)."""
    days = {agent_id: AgentDay() for agent_id in agent_ids}
    if not agent_ids:
        return days
    rows = db.session.execute(
        select(TABLE.c.agent_id, TABLE.c.calls, TABLE.c.confirmed, TABLE.c.streak,
               TABLE.c.last_action_at)
        .where(TABLE.c.agent_id.in_(agent_ids), TABLE.c.day == day))
    for agent_id, calls, confirmed, streak, last in rows:
        days[agent_id] = AgentDay(calls, confirmed, streak, last)
    return days


def agent_day(agent_id: int, day: date) -> AgentDay:
    """One agent's figures for `day`."""
    return agent_days([agent_id], day)[agent_id]


def fold_calls(events) -> dict[tuple[int, date], AgentDay]:
    """Per (agent, day) figures from (agent_id, outcome, at) events in time order."""
    days: dict[tuple[int, date], AgentDay] = {}
    for agent_id, outcome, at in events:
        day = days.setdefault((agent_id, local_day(at)), AgentDay())
        day.calls += 1
        confirmed = outcome == Confirmation.CONFIRMED
        day.confirmed += confirmed
        day.streak = day.streak + 1 if confirmed else 0
        day.last_action = at
    return days


def rebuild_agent_days(since: date) -> int:
    """Recompute the figures of every day from `since` on from the audit trail."""
    from models.audit import AuditEvent
    from models.user import User

    events = db.session.execute(
        select(AuditEvent.actor_user_id, AuditEvent.to_value, AuditEvent.created_at)
        .join(User, User.id == AuditEvent.actor_user_id)
        .where(User.role == "agent", AuditEvent.kind == "confirmation",
               AuditEvent.created_at >= day_start(since))
        .order_by(AuditEvent.created_at, AuditEvent.id))
    days = fold_calls(events)
    db.session.execute(TABLE.delete().where(TABLE.c.day >= since))
    if days:
        db.session.execute(TABLE.insert(), [
            {"agent_id": agent_id, "day": day, "calls": d.calls, "confirmed": d.confirmed,
             "streak": d.streak, "last_action_at": d.last_action}
            for (agent_id, day), d in days.items()])
    return len(days)
