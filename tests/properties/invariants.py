"""Checks read straight from the database; each returns what it found wrong (empty: holds).

They take what the test saw (the cards agents are shown, the statuses each order had) as
arguments, so a test can hand them a corrupted database and see them complain.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Order, OrderLine, StockMovement
from models.orders.counter_check import check_counters
from models.status import (
    CONFIRMATION_TRANSITIONS,
    LOCKED_CONFIRMATIONS,
    SHIPPING_TRANSITIONS,
    TERMINAL_SHIPPING,
    Confirmation,
    Shipping,
)
from models.stock.ledger import ledger_mismatches


def _reachable(table) -> dict[str, set[str]]:
    """Every status reachable from each status by one or more moves of the table."""
    step: dict[str, set[str]] = defaultdict(set)
    for src, dst in table:
        step[src.value].add(dst.value)
    reach = {}
    for start in list(step):
        seen, todo = set(), [start]
        while todo:
            for nxt in step[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        reach[start] = seen
    return reach


CONFIRMATION_REACH = _reachable(CONFIRMATION_TRANSITIONS)
SHIPPING_REACH = _reachable(SHIPPING_TRANSITIONS)
CONFIRMED = Confirmation.CONFIRMED.value


@dataclass
class Seen:
    """What the test has observed so far: each order's statuses and how many times they moved."""

    statuses: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    changes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    final: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)


def orders_now() -> dict[int, tuple[str, str | None]]:
    """Every order's (confirmation, shipping) as stored."""
    return {oid: (conf, ship) for oid, conf, ship in db.session.execute(
        select(Order.id, Order.confirmation_status, Order.shipping_status))}


def double_holds(cards: dict[int, int | None]) -> list[str]:
    """Orders two agents hold (by the claims stored, or by the cards they are shown)."""
    problems = [f"agent {agent} holds {n} orders" for agent, n in db.session.execute(
        select(Order.claimed_by_id, func.count()).where(Order.claimed_by_id.is_not(None))
        .group_by(Order.claimed_by_id).having(func.count() > 1))]
    shown: dict[int, list[int]] = defaultdict(list)
    for agent, order_id in cards.items():
        if order_id is not None:
            shown[order_id].append(agent)
    problems += [f"order {oid} is on the cards of agents {agents}"
                 for oid, agents in shown.items() if len(agents) > 1]
    return problems


def status_pairs(seen: Seen) -> list[str]:
    """Pairs outside the vocabularies, shipping without confirmation (or the reverse), and
    moves since the last look that no chain of the transition tables allows."""
    problems = []
    for oid, (conf, ship) in orders_now().items():
        if conf not in set(Confirmation) or (ship is not None and ship not in set(Shipping)):
            problems.append(f"order {oid}: unknown status pair ({conf}, {ship})")
        elif (ship is not None) != (conf == CONFIRMED):
            problems.append(f"order {oid}: shipping {ship} with confirmation {conf}")
        before = seen.statuses.get(oid)
        if before is None:
            continue
        if conf != before[0] and conf not in CONFIRMATION_REACH.get(before[0], ()):
            problems.append(f"order {oid}: confirmation {before[0]} -> {conf}")
        if (before[1] is not None and ship != before[1]
                and ship not in SHIPPING_REACH.get(before[1], ())):
            problems.append(f"order {oid}: shipping {before[1]} -> {ship}")
    return problems


def finals_moved(seen: Seen) -> list[str]:
    """Orders that left a status that never moves again (Confirmed; Returned or Canceled
    parcels; Canceled and Fake, which only a manager's reopen may move)."""
    now = orders_now()
    problems = []
    for oid, (conf, ship) in seen.final.items():
        if conf is not None and now[oid][0] != conf:
            problems.append(f"order {oid}: confirmation left {conf} for {now[oid][0]}")
        if ship is not None and now[oid][1] != ship:
            problems.append(f"order {oid}: shipping left {ship} for {now[oid][1]}")
    return problems


def remember_finals(seen: Seen) -> None:
    """Note each order that reached a final status."""
    for oid, (conf, ship) in orders_now().items():
        known = seen.final.get(oid, (None, None))
        seen.final[oid] = (conf if conf in LOCKED_CONFIRMATIONS else known[0],
                           ship if ship in TERMINAL_SHIPPING else known[1])


def stock_off_ledger() -> list[str]:
    """Stock levels that differ from the ledger's sum."""
    return [f"warehouse {w} product {p}: on hand {on_hand}, ledger {total}"
            for w, p, on_hand, total in ledger_mismatches()]


def restocks_wrong() -> list[str]:
    """Lines reserved or restocked more than once, returned lines not restocked exactly
    once, and lines restocked without being returned."""
    counts: dict[tuple[int, str], int] = {
        (line, reason): n for line, reason, n in db.session.execute(
            select(StockMovement.order_line_id, StockMovement.reason, func.count())
            .where(StockMovement.order_line_id.is_not(None))
            .group_by(StockMovement.order_line_id, StockMovement.reason))}
    problems = [f"line {line}: {n} {reason} rows" for (line, reason), n in counts.items()
                if n > 1]
    for line, ship in db.session.execute(
            select(OrderLine.id, Order.shipping_status).join(Order)):
        reserved, restocked = counts.get((line, "reserve"), 0), counts.get((line, "restock"), 0)
        if ship == Shipping.RETURNED and reserved and restocked != 1:
            problems.append(f"returned line {line}: restocked {restocked} times")
        if ship != Shipping.RETURNED and restocked:
            problems.append(f"line {line} restocked while {ship}")
    return problems


def resubmitted(references: list[str]) -> list[str]:
    """Supplier orders the supplier made more than once (`references`: our reference on each
    order the supplier made, one per Idempotency-Key it saw)."""
    return [f"supplier made {n} orders for {ref}" for ref, n in Counter(references).items()
            if n > 1]


def counter_differences() -> list[str]:
    """Counters and rollups that differ from a full recount (flask check-counters)."""
    return [str(difference) for difference in check_counters()]


def unaudited(seen: Seen) -> list[str]:
    """Orders whose audit trail does not explain their statuses: each kind's events chain
    (from = the previous to), the last one is the current status, and there are at least
    as many events as moves the test saw."""
    trails: dict[tuple[int, str], list[tuple[str | None, str | None]]] = defaultdict(list)
    for oid, kind, src, dst in db.session.execute(
            select(AuditEvent.order_id, AuditEvent.kind, AuditEvent.from_value,
                   AuditEvent.to_value)
            .where(AuditEvent.kind.in_(("confirmation", "shipping")))
            .order_by(AuditEvent.id)):
        trails[(oid, kind)].append((src, dst))
    problems = []
    for oid, (conf, ship) in orders_now().items():
        for kind, status, start in (("confirmation", conf, Confirmation.NEW.value),
                                    ("shipping", ship, None)):
            trail = trails.get((oid, kind), [])
            at = start
            for src, dst in trail:
                if src != at:
                    problems.append(f"order {oid}: {kind} event from {src} but it was {at}")
                at = dst
            if at != status:
                problems.append(f"order {oid}: {kind} is {status}, its trail ends at {at}")
        events = len(trails.get((oid, "confirmation"), [])) + len(trails.get((oid, "shipping"),
                                                                             []))
        moves = seen.changes.get(oid, 0) + _moved(seen, oid, conf, ship)
        if events < moves:
            problems.append(f"order {oid}: {moves} moves seen, {events} events")
    return problems


def _moved(seen: Seen, oid: int, conf: str, ship: str | None) -> int:
    """How many of the order's two statuses differ from the last look."""
    before = seen.statuses.get(oid, (Confirmation.NEW.value, None))
    return (conf != before[0]) + (ship != before[1])


def observe(seen: Seen) -> None:
    """Take the statuses as they are now as the last look, counting what moved."""
    for oid, (conf, ship) in orders_now().items():
        seen.changes[oid] += _moved(seen, oid, conf, ship)
        seen.statuses[oid] = (conf, ship)
    remember_finals(seen)
