"""The call queue: claiming the next order atomically, outcomes, and what the card shows."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from .actor import Actor
from .audit import AuditEvent
from .base import db, utcnow
from .operations import Outcome, change_confirmation
from .order import Order
from .phones import is_valid_phone
from .settings import CallSettings
from .small_tables import cached
from .status import Confirmation, Shipping
from .user import User

OPEN = (Confirmation.NEW, Confirmation.NO_ANSWER, Confirmation.CALL_LATER)
DUPLICATE_WINDOW = timedelta(days=7)
FINISHED_SHIPPING = (Shipping.DELIVERED, Shipping.RETURNED, Shipping.CANCELED)


def _claimable(cutoff: datetime):
    """Not held by anyone, or held by a claim that has expired."""
    return or_(Order.claimed_by_id.is_(None), Order.claimed_at < cutoff)


def queue_buckets(settings: CallSettings, now: datetime) -> list:
    """The queue in priority order: due callbacks, new leads, retries whose delay passed."""
    cutoff = now - timedelta(minutes=settings.claim_timeout_minutes)
    retry_before = now - timedelta(minutes=settings.retry_delay_minutes)
    base = select(Order.id).where(_claimable(cutoff))
    return [
        base.where(Order.confirmation_status == Confirmation.CALL_LATER,
                   Order.callback_at <= now)
        .order_by(Order.callback_at, Order.id),
        base.where(Order.confirmation_status == Confirmation.NEW)
        .order_by(Order.created_at, Order.id),
        base.where(Order.confirmation_status == Confirmation.NO_ANSWER,
                   or_(Order.last_attempt_at.is_(None), Order.last_attempt_at <= retry_before))
        .order_by(Order.attempts, Order.last_attempt_at, Order.id),
    ]


def held_order(agent_id: int, settings: CallSettings, now: datetime | None = None):
    """The open order this agent holds under an unexpired claim, if any."""
    cutoff = (now or utcnow()) - timedelta(minutes=settings.claim_timeout_minutes)
    return db.session.execute(
        select(Order).where(Order.claimed_by_id == agent_id, Order.claimed_at >= cutoff,
                            Order.confirmation_status.in_(OPEN))
    ).scalar_one_or_none()


def _take(query, agent_id: int, now: datetime) -> int | None:
    """Claim the first order of one bucket in a single statement; its id, or None.

    PostgreSQL locks the candidate with SKIP LOCKED so concurrent agents pass
    over each other's rows; SQLite runs the whole UPDATE under its write lock.
    """
    candidate = query.limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    claimed = db.session.execute(
        update(Order)
        .where(Order.id == candidate.scalar_subquery())
        .values(claimed_by_id=agent_id, claimed_at=now, version=Order.version + 1)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return claimed


def claim_next(agent: Actor, settings: CallSettings, now: datetime | None = None):
    """Give this agent the next order (or the one they already hold); None when empty.

    Commits: a claim must be visible to other agents at once.
    """
    now = now or utcnow()
    cutoff = now - timedelta(minutes=settings.claim_timeout_minutes)
    mine = db.session.execute(
        select(Order).where(Order.claimed_by_id == agent.user_id)
    ).scalar_one_or_none()
    if mine is not None:
        if mine.claimed_at >= cutoff and mine.confirmation_status in OPEN:
            return mine
        # An expired (or finished) claim of this agent's goes back first: one per agent.
        db.session.execute(
            update(Order).where(Order.id == mine.id, Order.claimed_by_id == agent.user_id)
            .values(claimed_by_id=None, claimed_at=None, version=Order.version + 1)
            .execution_options(synchronize_session=False)
        )
    for bucket in queue_buckets(settings, now):
        try:
            order_id = _take(bucket, agent.user_id, now)
        except IntegrityError:
            # A second "next call" of the same agent won the race: keep that one.
            db.session.rollback()
            return held_order(agent.user_id, settings, now)
        if order_id is not None:
            _claim_event(order_id, agent)
            db.session.commit()
            return db.session.get(Order, order_id, populate_existing=True)
    db.session.commit()
    return None


def _claim_event(order_id: int, actor: Actor, note: str = "") -> None:
    """Audit who took the order."""
    db.session.add(AuditEvent(order_id=order_id, actor_user_id=actor.user_id,
                              actor_name=actor.name, kind="claim", to_value=actor.name,
                              note=note))


def release_claim(order: Order, actor: Actor) -> None:
    """Put a held order back in the queue (manager)."""
    if order.claimed_by_id is None:
        return
    holder = order.claimed_by.username if order.claimed_by else ""
    order.claimed_by_id = None
    order.claimed_at = None
    db.session.add(AuditEvent(order_id=order.id, actor_user_id=actor.user_id,
                              actor_name=actor.name, kind="claim", from_value=holder,
                              to_value=None, note="released"))
    db.session.flush()


def assign_order(order: Order, agent: User, actor: Actor, settings: CallSettings) -> None:
    """Hand an open order to an agent who holds nothing (manager)."""
    from .errors import InvalidInput

    if order.confirmation_status not in OPEN:
        raise InvalidInput(f"Order {order.reference} is not waiting for a call.")
    if held_order(agent.id, settings) is not None:
        raise InvalidInput(f"{agent.display_name} is already on a call; release it first.")
    cutoff = utcnow() - timedelta(minutes=settings.claim_timeout_minutes)
    if order.claimed_by_id not in (None, agent.id) and order.claimed_at >= cutoff:
        raise InvalidInput(f"Order {order.reference} is on a call with "
                           f"{order.claimed_by.display_name}; release it first.")
    # The agent's expired claim, if any, goes back to the queue (one claim per agent).
    db.session.execute(
        update(Order).where(Order.claimed_by_id == agent.id, Order.id != order.id)
        .values(claimed_by_id=None, claimed_at=None, version=Order.version + 1)
        .execution_options(synchronize_session=False)
    )
    order.claimed_by_id = agent.id
    order.claimed_at = utcnow()
    db.session.add(AuditEvent(order_id=order.id, actor_user_id=actor.user_id,
                              actor_name=actor.name, kind="claim", to_value=agent.username,
                              note="assigned"))
    db.session.flush()


def record_outcome(
    order: Order, outcome: str, agent: Actor, settings: CallSettings, *, note: str = "",
    expected_version: int | None = None, callback_at: datetime | None = None,
) -> Outcome:
    """An agent's call outcome; the attempt that reaches the limit cancels the order."""
    result = change_confirmation(order, outcome, agent, note=note,
                                 expected_version=expected_version, callback_at=callback_at)
    if outcome == Confirmation.NO_ANSWER and order.attempts >= settings.max_attempts:
        change_confirmation(order, Confirmation.CANCELED, Actor.system(),
                            note=f"unreachable after {order.attempts} attempts")
    return result


@dataclass
class CallCard:
    """Everything the agent sees about the order on the phone."""

    order: Order
    attempts: list[AuditEvent]
    duplicates: list
    fake_count: int
    phone_valid: bool
    waited: timedelta


def call_card(order: Order, now: datetime | None = None) -> CallCard:
    """The card for an order: earlier attempts and the duplicate / fake flags."""
    now = now or utcnow()
    db.session.execute(select(Order).where(Order.id == order.id).options(
        joinedload(Order.channel), selectinload(Order.lines))).scalars().all()
    attempts = db.session.execute(
        select(AuditEvent).where(AuditEvent.order_id == order.id,
                                 AuditEvent.kind == "confirmation")
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ).scalars().all()
    duplicates, fakes = [], 0
    if order.phone_normalized:
        same_phone = select(Order.id, Order.created_at, Order.confirmation_status,
                            Order.shipping_status).where(
            Order.phone_normalized == order.phone_normalized, Order.id != order.id)
        duplicates = db.session.execute(same_phone.where(
            Order.created_at >= now - DUPLICATE_WINDOW,
            Order.confirmation_status.not_in([Confirmation.CANCELED, Confirmation.FAKE]),
            or_(Order.shipping_status.is_(None), Order.shipping_status.not_in(FINISHED_SHIPPING)),
        ).order_by(Order.created_at.desc())).all()
        fakes = db.session.scalar(select(func.count()).select_from(Order).where(
            Order.phone_normalized == order.phone_normalized,
            Order.confirmation_status == Confirmation.FAKE, Order.id != order.id))
    return CallCard(order, list(attempts), list(duplicates), fakes or 0,
                    is_valid_phone(order.phone_normalized), now - order.created_at)


@dataclass
class AgentDay:
    """An agent's figures since the start of the local day."""

    calls: int
    confirmed: int
    streak: int
    last_action: datetime | None

    @property
    def rate(self) -> int | None:
        """Confirmed calls as a whole percentage of calls."""
        return round(100 * self.confirmed / self.calls) if self.calls else None


def agent_days(agent_ids: list[int], since: datetime) -> dict[int, AgentDay]:
    """Calls, confirmations and the current run of confirmations since `since`, per agent."""
    outcomes: dict[int, list] = {agent_id: [] for agent_id in agent_ids}
    for agent_id, value, at in db.session.execute(
        select(AuditEvent.actor_user_id, AuditEvent.to_value, AuditEvent.created_at)
        .where(AuditEvent.actor_user_id.in_(agent_ids), AuditEvent.kind == "confirmation",
               AuditEvent.created_at >= since)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ):
        outcomes[agent_id].append((value, at))
    days = {}
    for agent_id, rows in outcomes.items():
        streak = 0
        for value, _ in rows:
            if value != Confirmation.CONFIRMED:
                break
            streak += 1
        confirmed = sum(1 for value, _ in rows if value == Confirmation.CONFIRMED)
        days[agent_id] = AgentDay(len(rows), confirmed, streak, rows[0][1] if rows else None)
    return days


def agent_day(agent_id: int, since: datetime) -> AgentDay:
    """One agent's figures since `since`."""
    return agent_days([agent_id], since)[agent_id]


def queue_summary(settings: CallSettings, now: datetime | None = None) -> dict:
    """Queue length by bucket and the age of the oldest new lead (may lag 2 s per process)."""
    return cached("queue_summary", lambda: _count_queue(settings, now), ttl=2.0)


def _count_queue(settings: CallSettings, now: datetime | None) -> dict:
    """Count each bucket, from the database."""
    now = now or utcnow()
    counts = [db.session.scalar(select(func.count()).select_from(b.subquery()))
              for b in queue_buckets(settings, now)]
    oldest = db.session.scalar(select(func.min(Order.created_at)).where(
        Order.confirmation_status == Confirmation.NEW))
    return {"callbacks_due": counts[0], "new": counts[1], "retries_due": counts[2],
            "oldest_new": (now - oldest) if oldest else None}


def team(settings: CallSettings, since: datetime, now: datetime | None = None) -> list[dict]:
    """Every active agent with their current claim and today's figures."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=settings.claim_timeout_minutes)
    agents = db.session.execute(select(User).where(User.role == "agent", User.active)
                                .order_by(User.username)).scalars().all()
    claims = {o.claimed_by_id: o for o in db.session.execute(
        select(Order).where(Order.claimed_by_id.in_([a.id for a in agents]),
                            Order.confirmation_status.in_(OPEN))).scalars()}
    days = agent_days([a.id for a in agents], since)
    return [
        {"agent": a, "claim": claims.get(a.id), "day": days[a.id],
         "expired": bool(claims.get(a.id) and claims[a.id].claimed_at < cutoff)}
        for a in agents
    ]

