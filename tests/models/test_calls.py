"""The call queue on the real database: atomic claims, queue order, expiry, outcomes, flags."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, AuditEvent, CallSettings, Order, StockLevel, utcnow
from models.calls.card import call_card
from models.calls.outcome import record_outcome
from models.calls.queue import claim_after_outcome, claim_next, held_order, queue_summary
from models.errors import Conflict, InvalidInput, NotAllowed, TransitionRefused
from models.orders.agent_days import agent_days, local_day, rebuild_agent_days
from models.orders.counters import rebuild_counts, status_counts
from models.orders.operations import edit_order
from models.status import ROLE_PARTIES, Role
from models.stock.ledger import ledger_mismatches

SETTINGS = CallSettings()


def test_claims_are_atomic_under_concurrent_agents(app, make_order, make_product, make_user):
    """24 agents race for 60 orders: each order is claimed exactly once, none twice."""
    product = make_product(stock=0)
    ids = {make_order(lines=[(product, 1)]).id for _ in range(60)}
    agents = [make_user("agent") for _ in range(24)]
    claimed, errors = [], []
    start = threading.Barrier(len(agents), timeout=30)

    def work(agent_id):
        with app.app_context():
            try:
                # No database access before the barrier: waiting threads must not
                # sit on pooled connections the others need.
                actor = Actor(name=f"a{agent_id}", parties=ROLE_PARTIES[Role.AGENT],
                              user_id=agent_id, role=Role.AGENT)
                start.wait()
                while True:
                    order = claim_next(actor, SETTINGS)
                    if order is None:
                        return
                    claimed.append(order.id)
                    # Finish the call so the agent can take another one.
                    record_outcome(order.id, "no_answer", actor, SETTINGS)
                    db.session.commit()
            except Exception as exc:  # reported below; a thread must not die silently
                errors.append(repr(exc))
            finally:
                db.session.remove()

    agent_ids = [a.id for a in agents]
    db.session.commit()
    threads = [threading.Thread(target=work, args=(agent_id,)) for agent_id in agent_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(claimed) == sorted(ids)  # every order once, no order twice


def test_an_agent_holds_one_order_at_a_time(make_order, make_user):
    first, second = make_order(), make_order()
    agent = Actor.of(make_user("agent"))
    got = claim_next(agent, SETTINGS)
    assert got.id == first.id
    assert claim_next(agent, SETTINGS).id == first.id
    assert db.session.get(Order, second.id).claimed_by_id is None


def test_queue_order_callbacks_then_new_then_retries(make_order, make_user):
    now = utcnow()
    retry_many = make_order(confirmation_status="no_answer", attempts=3,
                            last_attempt_at=now - timedelta(hours=2))
    retry_few = make_order(confirmation_status="no_answer", attempts=1,
                           last_attempt_at=now - timedelta(hours=1))
    make_order(confirmation_status="no_answer", attempts=0,
               last_attempt_at=now - timedelta(minutes=5))  # retry delay not passed
    newer = make_order(created_at=now - timedelta(minutes=5))
    older = make_order(created_at=now - timedelta(hours=3))
    make_order(confirmation_status="call_later", callback_at=now + timedelta(hours=1))
    due_late = make_order(confirmation_status="call_later",
                          callback_at=now - timedelta(minutes=1))
    due_early = make_order(confirmation_status="call_later",
                           callback_at=now - timedelta(minutes=30))
    make_order(confirmation_status="confirmed", shipping_status="created")
    summary = queue_summary(SETTINGS, now)
    assert (summary["callbacks_due"], summary["new"], summary["retries_due"]) == (2, 2, 2)
    order = []
    for _ in range(7):
        agent = Actor.of(make_user("agent"))
        got = claim_next(agent, SETTINGS, now)
        order.append(got.id if got else None)
    assert order == [due_early.id, due_late.id, older.id, newer.id, retry_few.id,
                     retry_many.id, None]


def test_expired_claim_returns_to_the_queue(make_order, make_user):
    order = make_order()
    first, second = Actor.of(make_user("agent")), Actor.of(make_user("agent"))
    now = utcnow()
    mine = claim_next(first, SETTINGS, now)
    seen_version = mine.version
    assert claim_next(second, SETTINGS, now + timedelta(minutes=5)) is None
    later = now + timedelta(minutes=SETTINGS.claim_timeout_minutes + 1)
    assert claim_next(second, SETTINGS, later).id == order.id
    stale = db.session.get(Order, order.id)
    with pytest.raises(Conflict):
        record_outcome(stale.id, "confirmed", first, SETTINGS, expected_version=seen_version)
    db.session.rollback()
    assert held_order(first.user_id, SETTINGS, later) is None


def test_agent_cannot_record_on_someone_elses_order(make_order, make_user):
    make_order()
    holder, other = Actor.of(make_user("agent")), Actor.of(make_user("agent"))
    order = claim_next(holder, SETTINGS)
    with pytest.raises(NotAllowed):
        record_outcome(order.id, "confirmed", other, SETTINGS)


def test_max_attempts_cancels_as_unreachable(make_order, make_user):
    settings = CallSettings(max_attempts=2)
    order = make_order()
    agent = Actor.of(make_user("agent"))
    for _ in range(2):
        hold(order, agent)
        record_outcome(order.id, "no_answer", agent, settings)
    db.session.commit()
    assert order.confirmation_status == "canceled" and order.attempts == 2
    last = db.session.execute(select(AuditEvent).filter_by(order_id=order.id)
                              .order_by(AuditEvent.id.desc())).scalars().first()
    assert last.actor_name == "system" and "unreachable" in last.note


def test_call_card_flags_duplicates_and_fakes(make_order, make_user):
    phone = "+212612345678"
    order = make_order(phone="06 12 34 56 78", phone_normalized=phone)
    duplicate = make_order(phone="0612345678", phone_normalized=phone)
    make_order(phone_normalized=phone, created_at=utcnow() - timedelta(days=9))  # too old
    make_order(phone_normalized=phone, confirmation_status="canceled")  # not open
    make_order(phone_normalized=phone, confirmation_status="fake",
               created_at=utcnow() - timedelta(days=40))
    make_order(phone_normalized="+212699999999")
    card = call_card(order)
    assert [d.id for d in card.duplicates] == [duplicate.id]
    assert card.fake_count == 1 and card.phone_valid


def test_call_card_flags_invalid_phone(make_order):
    order = make_order(phone="0512", phone_normalized="")
    assert not call_card(order).phone_valid


def test_edit_order_corrects_and_audits(make_order, make_product, make_user):
    cheap, dear = make_product(stock=10, price_cents=5000), make_product(stock=10,
                                                                        price_cents=20000)
    order = make_order(lines=[(cheap, 1), (dear, 1)], cod_amount_cents=28000)
    agent = Actor.of(make_user("agent"))
    order.claimed_by_id = agent.user_id
    cheap_line, dear_line = order.lines
    edit_order(order, agent, phone="+212 6 61 00 00 01", address="5 Rue Allal",
               quantities={cheap_line.id: 3}, remove=frozenset({dear_line.id}))
    db.session.commit()
    assert order.phone_normalized == "+212661000001" and order.address == "5 Rue Allal"
    assert [(line.sku, line.quantity) for line in order.lines] == [(cheap.sku, 3)]
    assert order.cod_amount_cents == 28000 + 2 * 5000 - 20000
    notes = [e.note for e in db.session.execute(
        select(AuditEvent).filter_by(order_id=order.id, kind="edit")).scalars()]
    assert {"phone corrected", "address corrected", f"quantity of {cheap.sku}",
            f"line {dear.sku} removed"} <= set(notes)


def test_edit_order_refuses_bad_input_and_locked_orders(make_order, make_user):
    order = make_order()
    agent = Actor.of(make_user("agent"))
    order.claimed_by_id = agent.user_id
    with pytest.raises(InvalidInput, match="not a phone number"):
        edit_order(order, agent, phone="abc123")
    with pytest.raises(InvalidInput, match="at least one line"):
        edit_order(order, agent, remove=frozenset({order.lines[0].id}))
    db.session.rollback()
    order = db.session.get(Order, order.id)
    hold(order, agent)
    record_outcome(order.id, "confirmed", agent, SETTINGS)
    with pytest.raises(TransitionRefused, match="locked"):
        edit_order(order, agent, address="elsewhere")


def test_audit_trail_of_a_full_call_sequence(make_order, make_user):
    order = make_order()
    agent = make_user("agent")
    actor = Actor.of(agent)
    now = utcnow()
    settings = CallSettings(retry_delay_minutes=1)
    assert claim_next(actor, settings, now).id == order.id
    record_outcome(order.id, "no_answer", actor, settings, note="voicemail")
    db.session.commit()
    assert claim_next(actor, settings, now + timedelta(minutes=2)).id == order.id
    record_outcome(order.id, "call_later", actor, settings,
                   callback_at=utcnow() + timedelta(1))
    db.session.commit()
    assert claim_next(actor, settings, now + timedelta(days=1, hours=1)).id == order.id
    record_outcome(order.id, "confirmed", actor, settings)
    db.session.commit()
    trail = [(e.kind, e.from_value, e.to_value, e.actor_name) for e in db.session.execute(
        select(AuditEvent).filter_by(order_id=order.id).order_by(AuditEvent.id)).scalars()]
    name = agent.username
    assert trail == [
        ("claim", None, name, name), ("confirmation", "new", "no_answer", name),
        ("claim", None, name, name), ("confirmation", "no_answer", "call_later", name),
        ("claim", None, name, name), ("confirmation", "call_later", "confirmed", name),
        ("shipping", None, "created", name), ("stock", None, "-1", name),
    ]


def test_agent_day_counts_rate_and_streak(make_order, make_user):
    agent = make_user("agent")
    actor = Actor.of(agent)
    for outcome in ["confirmed", "no_answer", "confirmed", "confirmed"]:
        order = make_order()
        hold(order, actor)
        record_outcome(order.id, outcome, actor, SETTINGS)
    db.session.commit()
    today = local_day(utcnow())
    day = agent_days([agent.id], today)[agent.id]
    assert (day.calls, day.confirmed, day.rate, day.streak) == (4, 3, 75, 2)
    assert agent_days([agent.id], today - timedelta(days=1))[agent.id].calls == 0


def test_agent_day_counts_match_the_audit_trail(make_order, make_user):
    """The counter rows agree with figures recomputed from the audit events."""
    agents = [Actor.of(make_user("agent")) for _ in range(2)]
    for i, outcome in enumerate(["confirmed", "fake", "confirmed", "call_later", "no_answer"]):
        actor = agents[i % 2]
        order = make_order()
        hold(order, actor)
        record_outcome(order.id, outcome, actor, SETTINGS, note="why",
                       callback_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    today = local_day(utcnow())
    ids = [a.user_id for a in agents]
    kept = agent_days(ids, today)
    rebuild_agent_days(today)
    assert agent_days(ids, today) == kept
    assert [kept[i].calls for i in ids] == [3, 2]


def test_outcomes_keep_the_status_counters_and_stock_ledger_true(make_order, make_product,
                                                                 make_user, make_channel):
    """The call screen's plain UPDATEs move the counters as a recount would see them."""
    channel = make_channel()
    product = make_product(stock=5)
    orders = [make_order(channel=channel, lines=[(product, 2)]) for _ in range(4)]
    agent = Actor.of(make_user("agent"))
    settings = CallSettings(max_attempts=1)
    for order, outcome in zip(orders, ["confirmed", "fake", "no_answer", "call_later"],
                              strict=True):
        hold(order, agent)
        record_outcome(order.id, outcome, agent, settings, note="x",
                       callback_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    counts = status_counts(channel.id)
    assert {k: v for k, v in counts["confirmation"].items() if v} == {
        "confirmed": 1, "fake": 1, "canceled": 1, "call_later": 1}
    assert {k: v for k, v in counts["shipping"].items() if v} == {"created": 1}
    live = status_counts()
    rebuild_counts()
    db.session.commit()
    assert status_counts() == live
    assert ledger_mismatches() == []
    level = db.session.execute(select(StockLevel).filter_by(product_id=product.id)).scalar_one()
    assert level.on_hand == 3


def test_a_claim_after_an_outcome_that_races_another_claim_saves_nothing(make_order,
                                                                         make_user):
    """Were the agent already holding a call, the claim and its transaction are refused."""
    held, waiting = make_order(), make_order()
    agent = Actor.of(make_user("agent"))
    assert claim_next(agent, SETTINGS).id == held.id
    with pytest.raises(Conflict, match="not saved"):
        claim_after_outcome(agent, SETTINGS)
    assert db.session.get(Order, waiting.id).claimed_by_id is None
    assert held_order(agent.user_id, SETTINGS).id == held.id


def hold(order: Order, agent: Actor) -> None:
    """Put the order in the agent's hands, as a claim would."""
    order.claimed_by_id = agent.user_id
    db.session.flush()
