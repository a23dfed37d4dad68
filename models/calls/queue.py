"""The call queue: claiming the next order atomically, releases, assignments, the team view."""

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db, utcnow
from models.errors import Conflict
from models.orders.agent_days import agent_days
from models.orders.tables import Order
from models.settings import CallSettings
from models.small_tables import cached
from models.status import Confirmation, PushStatus
from models.user import User

from .card import CARD_COLUMNS, ORDERS

OPEN = (Confirmation.NEW, Confirmation.NO_ANSWER, Confirmation.CALL_LATER)
C = ORDERS.c


def _buckets() -> list:
    """The queue in priority order: due callbacks, new leads, retries whose delay passed.

    Parameters: cutoff (claims older than this have expired), now, retry_before.
    """
    claimable = or_(C.claimed_by_id.is_(None), C.claimed_at < bindparam("cutoff"))
    # An order its channel's forwarding settings held back (Not sent) waits for an operator.
    base = select(C.id).where(claimable, C.push_status == PushStatus.SENT)
    return [
        base.where(C.confirmation_status == Confirmation.CALL_LATER,
                   C.callback_at <= bindparam("now"))
        .order_by(C.callback_at, C.id),
        base.where(C.confirmation_status == Confirmation.NEW).order_by(C.created_at, C.id),
        base.where(C.confirmation_status == Confirmation.NO_ANSWER,
                   or_(C.last_attempt_at.is_(None), C.last_attempt_at <= bindparam("retry_before")))
        .order_by(C.attempts, C.last_attempt_at, C.id),
    ]


BUCKETS = _buckets()

# One statement takes the head of the first non-empty bucket. COALESCE evaluates its
# subqueries in order and stops at the first hit; on PostgreSQL each locks its
# candidate with SKIP LOCKED so concurrent agents pass over each other's rows, and
# SQLite (which has no SKIP LOCKED, and drops it here) runs the UPDATE under its
# write lock.
_CLAIM = (
    update(ORDERS)
    .where(C.id == func.coalesce(*(
        b.limit(1).with_for_update(skip_locked=True).scalar_subquery() for b in BUCKETS)))
    .values(claimed_by_id=bindparam("me"), claimed_at=bindparam("now"), version=C.version + 1)
    .returning(*CARD_COLUMNS)
)
_MINE = select(*CARD_COLUMNS).where(C.claimed_by_id == bindparam("me"))
_LET_GO = (
    update(ORDERS).where(C.id == bindparam("order_id"), C.claimed_by_id == bindparam("me"))
    .values(claimed_by_id=None, claimed_at=None, version=C.version + 1)
)


def queue_params(settings: CallSettings, now: datetime) -> dict:
    """The bucket queries' parameters at `now`."""
    return {"now": now, "cutoff": now - timedelta(minutes=settings.claim_timeout_minutes),
            "retry_before": now - timedelta(minutes=settings.retry_delay_minutes)}


def _holds(row, cutoff: datetime) -> bool:
    """The claim is alive and the order still waits for a call."""
    return (row.claimed_at is not None and row.claimed_at >= cutoff
            and row.confirmation_status in OPEN)


def held_order(agent_id: int, settings: CallSettings, now: datetime | None = None):
    """The open order this agent holds under an unexpired claim (a card row), if any."""
    params = queue_params(settings, now or utcnow())
    row = db.session.execute(_MINE, {"me": agent_id}).first()
    return row if row is not None and _holds(row, params["cutoff"]) else None


def claim_next(agent: Actor, settings: CallSettings, now: datetime | None = None):
    """Give this agent the next order (or the one they already hold) as a card row;
    None when the queue is empty.

    Commits: a claim must be visible to other agents at once.
    """
    params = queue_params(settings, now or utcnow())
    mine = db.session.execute(_MINE, {"me": agent.user_id}).first()
    if mine is not None:
        if _holds(mine, params["cutoff"]):
            return mine
        # An expired (or finished) claim of this agent's goes back first: one per agent.
        db.session.execute(_LET_GO, {"order_id": mine.id, "me": agent.user_id})
    try:
        row = _claim(agent, params)
    except IntegrityError:
        # A second "next call" of the same agent won the race: keep that one.
        db.session.rollback()
        return held_order(agent.user_id, settings, now)
    db.session.commit()
    return row


def claim_after_outcome(agent: Actor, settings: CallSettings, now: datetime | None = None):
    """The next order for an agent whose call was just recorded in this transaction,
    claimed in the same transaction (the caller commits both); None when empty.

    The agent holds nothing now, so there is no claim of theirs to look for. Should
    another window of theirs claim at the same moment, the one-claim-per-agent index
    refuses this one: everything is rolled back and the agent is told so.
    """
    try:
        return _claim(agent, queue_params(settings, now or utcnow()))
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("Another window of yours took a call at the same moment, so this "
                         "outcome was not saved. Carry on with the call you hold.")) from None


def _claim(agent: Actor, params: dict):
    """Take the head of the queue for the agent and audit it; the card row, or None."""
    row = db.session.execute(_CLAIM, {**params, "me": agent.user_id}).first()
    if row is not None:
        _claim_event(row.id, agent)
    return row


def _claim_event(order_id: int, actor: Actor, note: str = "") -> None:
    """Audit who took the order."""
    db.session.execute(insert(AuditEvent.__table__),
                       audit_row(order_id, actor, "claim", None, actor.name, note))


def release_claim(order: Order, actor: Actor) -> None:
    """Put a held order back in the queue (manager)."""
    if order.claimed_by_id is None:
        return
    holder = order.claimed_by.username if order.claimed_by else ""
    order.claimed_by_id = None
    order.claimed_at = None
    # shown translated: models/stored_text.py
    db.session.add(AuditEvent(order_id=order.id, actor_user_id=actor.user_id,
                              actor_name=actor.name, kind="claim", from_value=holder,
                              to_value=None, note="released"))
    db.session.flush()


def assign_order(order: Order, agent: User, actor: Actor, settings: CallSettings) -> None:
    """Hand an open order to an agent who holds nothing (manager)."""
    from models.errors import InvalidInput

    if order.confirmation_status not in OPEN:
        raise InvalidInput(_("Order %(ref)s is not waiting for a call.", ref=order.reference))
    if held_order(agent.id, settings) is not None:
        raise InvalidInput(_("%(agent)s is already on a call; release it first.",
                                agent=agent.display_name))
    cutoff = utcnow() - timedelta(minutes=settings.claim_timeout_minutes)
    if order.claimed_by_id not in (None, agent.id) and order.claimed_at >= cutoff:
        raise InvalidInput(_("Order %(ref)s is on a call with %(agent)s; release it first.",
                             ref=order.reference, agent=order.claimed_by.display_name))
    # The agent's expired claim, if any, goes back to the queue (one claim per agent).
    db.session.execute(
        update(Order).where(Order.claimed_by_id == agent.id, Order.id != order.id)
        .values(claimed_by_id=None, claimed_at=None, version=Order.version + 1)
        .execution_options(synchronize_session=False)
    )
    order.claimed_by_id = agent.id
    order.claimed_at = utcnow()
    # shown translated: models/stored_text.py
    db.session.add(AuditEvent(order_id=order.id, actor_user_id=actor.user_id,
                              actor_name=actor.name, kind="claim", to_value=agent.username,
                              note="assigned"))
    db.session.flush()


def queue_summary(settings: CallSettings, now: datetime | None = None) -> dict:
    """Queue length by bucket and the age of the oldest new lead (may lag 2 s per process)."""
    return cached("queue_summary", lambda: _count_queue(settings, now), ttl=2.0)


def _count_queue(settings: CallSettings, now: datetime | None) -> dict:
    """Count each bucket, from the database."""
    now = now or utcnow()
    params = queue_params(settings, now)
    counts = [db.session.scalar(select(func.count()).select_from(b.subquery()), params)
              for b in BUCKETS]
    oldest = db.session.scalar(select(func.min(Order.created_at)).where(
        Order.confirmation_status == Confirmation.NEW))
    return {"callbacks_due": counts[0], "new": counts[1], "retries_due": counts[2],
            "oldest_new": (now - oldest) if oldest else None}


def team(settings: CallSettings, day: date, now: datetime | None = None) -> list[dict]:
    """Every active agent with their current claim and the day's figures."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=settings.claim_timeout_minutes)
    agents = db.session.execute(select(User).where(User.role == "agent", User.active)
                                .order_by(User.username)).scalars().all()
    claims = {o.claimed_by_id: o for o in db.session.execute(
        select(Order).where(Order.claimed_by_id.in_([a.id for a in agents]),
                            Order.confirmation_status.in_(OPEN))).scalars()}
    days = agent_days([a.id for a in agents], day)
    return [
        {"agent": a, "claim": claims.get(a.id), "day": days[a.id],
         "expired": bool(claims.get(a.id) and claims[a.id].claimed_at < cutoff)}
        for a in agents
    ]

