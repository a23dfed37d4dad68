"""The shipping desk's reads: rows, filters, keyset pages, stuck rules, problem counts."""

from datetime import datetime, timedelta

from sqlalchemy import update

from extensions import db
from models import Order, Parcel, utcnow
from models.shipping.desk import (
    LONG_RETURN,
    NO_TRACKING,
    NO_UPDATE,
    Cursor,
    DeskFilters,
    desk_page,
    matching_ids,
    problem_counts,
)
from models.shipping.operations import record_failure
from models.shipping.settings import ShippingSettings
from models.small_tables import clear

DEFAULTS = ShippingSettings()


def ids(page):
    return [row.id for row in page.rows]


def rows_by_id(f=None, now=None, settings=DEFAULTS):
    page = desk_page(f or DeskFilters(), settings, now or utcnow(), limit=500)
    return {row.id: row for row in page.rows}


def set_parcel(parcel, **values):
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id).values(**values))
    db.session.commit()


def set_order(order, **values):
    """Plain UPDATE: the ORM would stamp updated_at itself."""
    db.session.execute(update(Order).where(Order.id == order.id).values(**values))
    db.session.commit()


def test_desk_rows_carry_the_parcel_columns_oldest_confirmation_first(parcel_order, confirmed):
    newer, parcel = parcel_order("shipped", tracking="SBX-DESK-1", city="Agadir",
                                 customer_name="Nadia Alaoui")
    set_parcel(parcel, carrier_status_text="Out for delivery",
               last_event_at=datetime(2026, 11, 20, 9, 0))
    older = confirmed(utcnow() - timedelta(days=1), city="Rabat")
    new_order = confirmed(utcnow() - timedelta(hours=1), confirmation_status="new",
                          shipping_status=None)
    page = desk_page(DeskFilters(), DEFAULTS, utcnow())
    assert ids(page) == [older.id, newer.id]  # never an unconfirmed order
    assert new_order.id not in ids(page)
    row = page.rows[1]
    assert (row.customer_name, row.city, row.shipping_status) == ("Nadia Alaoui", "Agadir",
                                                                  "shipped")
    assert (row.tracking_number, row.carrier_status_text) == ("SBX-DESK-1", "Out for delivery")
    assert row.last_event_at == datetime(2026, 11, 20, 9, 0)
    assert row.carrier_id == parcel.carrier_id
    assert page.rows[0].tracking_number is None and page.next_cursor is None


def test_desk_filters_narrow_to_matching_rows(parcel_order, confirmed, make_channel,
                                              make_carrier):
    day = datetime(2026, 11, 10, 12, 0)
    other_channel, other_carrier = make_channel(), make_carrier()
    plain = confirmed(day)
    rabat = confirmed(day + timedelta(hours=1), city="Rabat")
    channel = confirmed(day + timedelta(hours=2), channel=other_channel)
    by_order_carrier = confirmed(day + timedelta(hours=3), carrier=other_carrier)
    later = confirmed(day + timedelta(days=3))
    fulfilled = confirmed(day + timedelta(hours=4), shipping_status="fulfilled")
    failing, parcel = parcel_order("created")
    record_failure([parcel.id], "Carrier 9: address refused")
    db.session.commit()
    # The parcel's carrier (detection may correct the order's) is the one shown and filtered.
    set_parcel(parcel, carrier_id=other_carrier.id)
    now = utcnow()

    def found(**filters):
        return set(rows_by_id(DeskFilters(**filters), now))

    assert found(city="Rabat") == {rabat.id}
    assert found(channel_id=other_channel.id) == {channel.id}
    assert found(carrier_id=other_carrier.id) == {by_order_carrier.id, failing.id}
    assert found(status="fulfilled") == {fulfilled.id}
    assert found(confirmed_from=day + timedelta(days=2),
                 confirmed_to=day + timedelta(days=4)) == {later.id}
    assert found(error=True) == {failing.id}
    assert found(status="created", city="Rabat") == {rabat.id}
    assert rows_by_id(now=now)[failing.id].last_error == "Carrier 9: address refused"
    assert plain.id in found()


def test_desk_pages_have_no_duplicates_or_gaps_while_orders_arrive(confirmed):
    start = datetime(2026, 11, 1, 8, 0)
    made = [confirmed(start + timedelta(minutes=i)).id for i in range(55)]
    now = utcnow()
    first = desk_page(DeskFilters(), DEFAULTS, now)
    assert ids(first) == made[:50] and first.next_cursor is not None
    # Orders confirmed meanwhile come after every older one, so they never shift a page.
    arrived = [confirmed(utcnow() + timedelta(seconds=i)).id for i in range(3)]
    cursor = Cursor.decode(first.next_cursor.encode())
    second = desk_page(DeskFilters(after=cursor), DEFAULTS, now)
    assert ids(second) == made[50:] + arrived
    assert second.next_cursor is None


def test_desk_cursor_breaks_ties_on_id(confirmed):
    same = datetime(2026, 11, 1, 8, 0)
    made = [confirmed(same).id for _ in range(5)]
    first = desk_page(DeskFilters(), DEFAULTS, utcnow(), limit=2)
    second = desk_page(DeskFilters(after=first.next_cursor), DEFAULTS, utcnow(), limit=2)
    third = desk_page(DeskFilters(after=second.next_cursor), DEFAULTS, utcnow(), limit=2)
    assert ids(first) + ids(second) + ids(third) == made


def test_stuck_when_the_carrier_said_nothing_for_48_hours(parcel_order):
    now = utcnow()
    quiet, quiet_parcel = parcel_order("shipped")
    recent, recent_parcel = parcel_order("shipped")
    set_parcel(quiet_parcel, last_event_at=now - timedelta(hours=49))
    set_parcel(recent_parcel, last_event_at=now - timedelta(hours=47))
    handed, handed_parcel = parcel_order("fulfilled")
    set_parcel(handed_parcel, handed_over_at=now - timedelta(hours=50))
    on_table, _ = parcel_order("fulfilled")
    set_order(on_table, confirmed_at=now - timedelta(days=5))  # packed, never handed over
    rows = rows_by_id(now=now)
    assert rows[quiet.id].stuck == NO_UPDATE
    assert rows[handed.id].stuck == NO_UPDATE
    assert rows[recent.id].stuck is None
    assert rows[on_table.id].stuck is None
    assert set(rows_by_id(DeskFilters(stuck=True), now)) == {quiet.id, handed.id}
    longer = ShippingSettings(stuck_no_update_hours=72)
    assert rows_by_id(now=now, settings=longer)[quiet.id].stuck is None


def test_stuck_when_no_tracking_number_7_days_after_confirmation(parcel_order, confirmed):
    now = utcnow()
    late = confirmed(now - timedelta(days=8))
    recent = confirmed(now - timedelta(days=6))
    tracked, _ = parcel_order("created")
    set_order(tracked, confirmed_at=now - timedelta(days=9))
    local = confirmed(now - timedelta(days=8), delivery_mode="local")
    rows = rows_by_id(now=now)
    assert rows[late.id].stuck == NO_TRACKING
    assert rows[recent.id].stuck is None
    assert rows[tracked.id].stuck is None
    assert rows[local.id].stuck is None  # local delivery never has a tracking number
    assert rows_by_id(now=now, settings=ShippingSettings(stuck_no_tracking_days=5))[
        recent.id].stuck == NO_TRACKING


def test_stuck_when_in_return_for_more_than_14_days(parcel_order):
    now = utcnow()
    long_ago, _ = parcel_order("in_return")
    set_order(long_ago, updated_at=now - timedelta(days=15))
    lately, _ = parcel_order("in_return")
    set_order(lately, updated_at=now - timedelta(days=13))
    rows = rows_by_id(now=now)
    assert rows[long_ago.id].stuck == LONG_RETURN
    assert rows[lately.id].stuck is None
    assert rows_by_id(now=now, settings=ShippingSettings(stuck_in_return_days=20))[
        long_ago.id].stuck is None


def test_problem_counts_count_stuck_and_failing_parcels(parcel_order, confirmed):
    now = utcnow()
    confirmed(now - timedelta(days=10))  # no tracking: stuck
    _, failing = parcel_order("created")
    record_failure([failing.id], "timeout")
    _, quiet = parcel_order("shipped")
    set_parcel(quiet, last_event_at=now - timedelta(days=3))
    parcel_order("fulfilled")
    clear()
    assert problem_counts(DEFAULTS, now) == {"stuck": 2, "errors": 1}


def test_matching_ids_are_in_page_order_and_capped(confirmed):
    start = datetime(2026, 11, 1, 8, 0)
    made = [confirmed(start + timedelta(minutes=i)).id for i in range(7)]
    now = utcnow()
    assert matching_ids(DeskFilters(), DEFAULTS, now) == made
    assert matching_ids(DeskFilters(), DEFAULTS, now, limit=3) == made[:3]
    assert matching_ids(DeskFilters(city="Nowhere"), DEFAULTS, now) == []


def test_desk_page_is_one_query_whatever_its_size(confirmed, count_queries):
    start = datetime(2026, 11, 1, 8, 0)
    for i in range(30):
        confirmed(start + timedelta(minutes=i))
    with count_queries() as q:
        page = desk_page(DeskFilters(), DEFAULTS, utcnow())
    assert len(page.rows) == 30 and q.n == 1


def test_shipping_settings_stored_over_defaults(app):
    assert ShippingSettings.load() == ShippingSettings(48, 7, 14)
    ShippingSettings(stuck_no_update_hours=24, stuck_no_tracking_days=3,
                     stuck_in_return_days=10).save()
    db.session.commit()
    assert ShippingSettings.load() == ShippingSettings(24, 3, 10)
