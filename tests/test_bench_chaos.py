"""bench/chaos/checks.py: the chaos run's invariants read a clean database as all zero and
count each kind of damage a lost or doubled piece of work would leave."""

from sqlalchemy import text

from bench.chaos.checks import due_work, invariants, server_errors
from extensions import db
from models import SandboxParcel, utcnow

RUN = "chaos-test"


def figures(api_ids=()):
    db.session.commit()
    with db.engine.connect() as conn:
        return invariants(conn, list(api_ids), RUN, utcnow())


def damage(found: dict) -> dict:
    return {name: n for name, n in found.items() if n}


def sandbox_parcel(order, n: int) -> SandboxParcel:
    return SandboxParcel(tracking_number=f"SBX{order.id:05d}{n}", idempotency_key=f"k{n}",
                         api_key="k", reference=f"#{order.id}", journey="delivered",
                         payload={})


def test_chaos_checks_find_nothing_wrong_with_a_clean_run(parcel_order, make_channel):
    make_channel(code="boutique")
    parcel_order("returned")
    assert damage(figures()) == {}
    with db.engine.connect() as conn:
        assert not any(due_work(conn, utcnow()).values())


def test_chaos_checks_count_an_order_registered_twice_at_the_carrier(parcel_order):
    order, _parcel = parcel_order("fulfilled")
    db.session.add_all([sandbox_parcel(order, 1), sandbox_parcel(order, 2)])
    assert damage(figures()) == {
        "double carrier registrations (carrier's parcels per order)": 1}


def test_chaos_checks_count_a_lost_api_order_and_stock_off_its_ledger(make_channel,
                                                                      make_product):
    make_channel(code="boutique")
    make_product(stock=5)
    db.session.execute(text("UPDATE stock_levels SET on_hand = on_hand + 1"))
    assert damage(figures([f"{RUN}-1"])) == {
        "lost API orders": 1, "stock levels not equal to their ledger": 1}


def test_chaos_checks_count_a_confirmed_order_never_registered(make_order, make_user,
                                                               make_carrier):
    from models import Actor
    from models.orders.operations import change_confirmation

    order = make_order(carrier=make_carrier())
    agent = make_user("agent")
    order.claimed_by_id = agent.id
    change_confirmation(order, "confirmed", Actor.of(agent))
    assert damage(figures()) == {"confirmed orders never registered": 1}
    with db.engine.connect() as conn:
        assert due_work(conn, utcnow())["unregistered"] == 1


def test_chaos_counts_codboards_own_server_errors_but_not_the_sandboxs():
    tally = {"agent confirmed 200": 40, "agent confirmed 500": 2, "api 503": 1,
             "channel webhook replay 202": 9, "marketplace order 500": 7,
             "Marketplace: ConnectionError": 3, "operator returned 409": 1}
    assert server_errors(tally) == 3
