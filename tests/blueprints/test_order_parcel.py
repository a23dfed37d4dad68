"""The order page's parcel: carrier, tracking, last news, timeline, tracking form, hand moves."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Actor, AuditEvent, Order, Parcel, ParcelEvent, utcnow
from models.orders.operations import change_confirmation

from .pages import audit_rows, header_statuses, location, squash, text

POSTE_CODE = "RR123456785MA"  # a valid S10 number issued in Morocco


@pytest.fixture
def confirmed(make_order, make_user):
    """confirmed(**overrides): an order an agent confirmed on the phone (no parcel yet)."""

    def make(**overrides) -> Order:
        agent = make_user("agent")
        order = make_order(claimed_by_id=agent.id, **overrides)
        change_confirmation(order, "confirmed", Actor.of(agent))
        db.session.commit()
        return order

    return make


def add_event(parcel: Parcel, minutes_ago: int, **columns) -> ParcelEvent:
    """A row on the parcel's timeline, `minutes_ago` in carrier time."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    row = ParcelEvent(**{"parcel_id": parcel.id, "carrier_id": parcel.carrier_id,
                         "occurred_at": at, "received_at": at, "source": "api",
                         "outcome": "applied", "dedupe_key": f"k{minutes_ago}", **columns})
    db.session.add(row)
    db.session.commit()
    return row


def timeline(resp) -> list[str]:
    """The timeline rows as the reader sees them, newest first."""
    body = resp.get_data(as_text=True)
    table = body.split('class="striped timeline"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr data-source.*?</tr>", table, re.S)
    return [squash(re.sub(r"<[^>]+>", " ", row)) for row in rows]


def stored_parcel(order_id: int) -> Parcel | None:
    """The order's parcel as stored."""
    db.session.rollback()
    return db.session.execute(select(Parcel).filter_by(order_id=order_id)).scalar_one_or_none()


def track(client, order: Order, number: str, carrier_id="", htmx: bool = False):
    """POST the parcel form as the order page does."""
    return client.post(f"/orders/{order.id}/tracking", htmx=htmx,
                       data={"tracking_number": number, "carrier_id": str(carrier_id)})


# --- the parcel section ------------------------------------------------------------------


def test_parcel_section_shows_carrier_tracking_and_last_news(login, parcel_order, make_carrier):
    """Carrier and how it was chosen, tracking, label, last status, sync and error in red."""
    carrier = make_carrier(name="Amana")
    order, parcel = parcel_order(status="shipped", carrier=carrier, tracking="AMA00000042")
    now = utcnow()
    parcel.label_url = "https://labels.example/AMA00000042.pdf"
    parcel.carrier_status, parcel.carrier_status_text = "IN_TRANSIT", "Arrivé au hub"
    parcel.last_event_at, parcel.last_synced_at = now, now
    parcel.last_error, parcel.last_error_at = "Amana answered 503", now
    parcel.detected_by, parcel.detection_confidence = "pattern", 90
    db.session.commit()
    resp = login("operator").get(f"/orders/{order.id}")
    assert resp.status_code == 200
    section = squash(text(resp).split('id="parcel"', 1)[1].split("<h3>Timeline", 1)[0])
    for shown in ("Amana", "recognised from the number, 90% sure", "AMA00000042",
                  "IN_TRANSIT", "Arrivé au hub", "Last sync", "Amana answered 503"):
        assert shown in section
    body = resp.get_data(as_text=True)
    assert 'href="https://labels.example/AMA00000042.pdf"' in body
    # The carrier's own words sit in <bdi>: mixed-direction text in an Arabic page.
    assert re.search(r'class="flag flag-red parcel-error">(?:<bdi>)?Amana answered 503<', body)


def test_parcel_section_absent_before_confirmation(login, make_order):
    """A new order has no parcel and offers no tracking form."""
    order = make_order()
    body = login("operator").get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="parcel"' not in body
    assert "/tracking" not in body


def test_parcel_timeline_newest_first_with_reasons_escaped(login, parcel_order):
    """Every event with source, raw code and text (escaped), place, meaning and outcome."""
    order, parcel = parcel_order(status="shipped")
    add_event(parcel, 50, source="api", raw_code="PICKED_UP", raw_text="Colis ramassé",
              location="Casablanca", maps_to="shipped", outcome="applied")
    add_event(parcel, 40, source="webhook", raw_code="ZZ9", raw_text="<b>x</b>",
              outcome="unmapped", reason="no mapping for ZZ9")
    add_event(parcel, 60, source="webhook", raw_code="INFO", maps_to="created",
              outcome="stale", reason="older than the last applied event")
    add_event(parcel, 30, source="scan", raw_code="DELIVERED", maps_to="delivered",
              outcome="refused", reason="Order #1 cannot move to Delivered")
    add_event(parcel, 20, source="api", raw_code="INFO_RECEIVED", outcome="ignored",
              reason="mapped to ignore")
    resp = login("manager").get(f"/orders/{order.id}")
    rows = timeline(resp)
    assert len(rows) == 5
    assert rows[0].startswith(tuple("0123456789")) and "INFO_RECEIVED" in rows[0]
    assert "ignored : mapped to ignore" in rows[0]
    assert "scan DELIVERED" in rows[1] and "Delivered" in rows[1]
    assert "refused : Order #1 cannot move to Delivered" in rows[1]
    assert "webhook ZZ9 &lt;b&gt;x&lt;/b&gt;" in rows[2]
    assert "unmapped : no mapping for ZZ9" in rows[2]
    assert "carrier API PICKED_UP Colis ramassé Casablanca Shipped applied" in rows[3]
    assert "stale : older than the last applied event" in rows[4]
    body = resp.get_data(as_text=True)
    assert "<b>x</b>" not in body
    assert 'data-source="scan" data-outcome="refused"' in body


def test_parcel_timeline_read_in_one_query(login, parcel_order, count_queries):
    """However long the timeline, the page reads it with one statement."""
    order, parcel = parcel_order(status="shipped")
    for minutes in range(1, 9):
        add_event(parcel, minutes, raw_code=f"S{minutes}", outcome="no_change")
    c = login("operator")
    with count_queries() as counted:
        resp = c.get(f"/orders/{order.id}")
    assert len(timeline(resp)) == 8
    reads = [s for s in counted.statements if "FROM parcel_events" in s]
    assert len(reads) == 1


# --- the tracking form -------------------------------------------------------------------


def test_set_tracking_detects_carrier_by_pattern(login, confirmed, make_carrier):
    """No carrier picked: the S10 number of Morocco goes to the carrier that stands for it."""
    poste = make_carrier(name="Poste Maroc", settings={"detect_as": ["s10:ma"]})
    order = confirmed()
    assert order.carrier_id != poste.id
    c = login("operator")
    resp = track(c, order, "rr 1234 5678 5ma", htmx=True)
    assert resp.status_code == 200
    assert "<html" not in resp.get_data(as_text=True)
    page = squash(text(resp))
    assert "Detected Poste Maroc (90% sure): a valid S10 International Standard number." in page
    assert "recognised from the number, 90% sure" in page
    parcel = stored_parcel(order.id)
    assert (parcel.tracking_number, parcel.carrier_id) == (POSTE_CODE, poste.id)
    assert (parcel.detected_by, parcel.detection_confidence) == ("pattern", 90)
    last = db.session.execute(select(AuditEvent).where(AuditEvent.order_id == order.id)
                              .order_by(AuditEvent.id.desc())).scalars().first()
    assert (last.kind, last.to_value, last.actor_user_id) == ("parcel", POSTE_CODE, c.user.id)


def test_set_tracking_picked_carrier_wins(login, confirmed, make_carrier):
    """A carrier picked by hand is stored as the operator's choice; a plain form redirects."""
    poste = make_carrier(name="Poste Maroc", settings={"detect_as": ["s10:ma"]})
    other = make_carrier(name="Amana")
    order = confirmed(carrier=poste)
    c = login("manager")
    resp = track(c, order, " trk-42 ", carrier_id=other.id)
    assert resp.status_code == 303
    assert location(resp)[0] == f"/orders/{order.id}"
    parcel = stored_parcel(order.id)
    assert (parcel.tracking_number, parcel.carrier_id) == ("TRK-42", other.id)
    assert (parcel.detected_by, parcel.detection_confidence) == ("operator", 100)
    page = c.get(f"/orders/{order.id}")
    assert "TRK-42" in text(page)
    assert "picked by an operator, 100% sure" in squash(text(page))


def test_typed_tracking_number_is_registered_by_the_job_it_nudges(login, confirmed,
                                                                  make_carrier, run_jobs):
    """The form nudges registration: a carrier that issues numbers takes the typed one."""
    carrier = make_carrier(name="Amana")
    order = confirmed(carrier=carrier)
    track(login("operator"), order, "AMA123456", carrier_id=carrier.id)
    assert stored_parcel(order.id).registered_at is None
    run_jobs()
    parcel = stored_parcel(order.id)
    assert parcel.registered_at is not None and parcel.tracking_number == "AMA123456"


def test_set_tracking_correction_keeps_one_parcel(login, parcel_order, make_carrier):
    """Correcting the number rewrites the parcel the order has, with an audit of before."""
    order, parcel = parcel_order(status="fulfilled", tracking="SBX0000000001")
    c = login("operator")
    assert track(c, order, "SBX0000000002", carrier_id=parcel.carrier_id).status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Parcel)) == 1
    assert stored_parcel(order.id).tracking_number == "SBX0000000002"
    row = audit_rows(c.get(f"/orders/{order.id}"))[0]
    assert row.kind == "parcel" and "SBX0000000001" in row.text and "SBX0000000002" in row.text


def test_set_tracking_undetectable_refused(login, confirmed):
    """Nothing tells the carrier: 422 asking to pick one, and no parcel is opened."""
    order = confirmed(carrier=None)
    resp = track(login("operator"), order, "ZZ-NOT-A-CODE", htmx=True)
    assert resp.status_code == 422
    assert "Could not tell the carrier" in text(resp)
    assert resp.headers["HX-Retarget"] == "#messages"
    assert stored_parcel(order.id) is None


def test_set_tracking_unconfirmed_order_refused(login, make_order, make_carrier):
    """An order not confirmed has no parcel to track."""
    order = make_order()
    resp = track(login("operator"), order, "TRK-42", carrier_id=make_carrier().id)
    assert resp.status_code == 409
    assert "has no parcel to track" in text(resp)
    assert stored_parcel(order.id) is None


def test_set_tracking_unknown_carrier_refused(login, confirmed):
    """A carrier id that is not in the list is refused."""
    order = confirmed()
    resp = track(login("operator"), order, "TRK-42", carrier_id=999999, htmx=True)
    assert resp.status_code == 422
    assert stored_parcel(order.id) is None


def test_set_tracking_agent_forbidden(login, confirmed, make_user):
    """Agents see the order they hold but cannot set its tracking."""
    agent = make_user("agent")
    order = confirmed()
    order.claimed_by_id = agent.id
    db.session.commit()
    c = login(agent)
    assert "/tracking" not in c.get(f"/orders/{order.id}").get_data(as_text=True)
    assert track(c, order, "TRK-42").status_code == 403
    assert stored_parcel(order.id) is None


# --- moves by hand -----------------------------------------------------------------------


def test_move_by_hand_from_order_page_on_timeline(login, parcel_order):
    """A status move from the order page is audited and written on the parcel's timeline."""
    order, parcel = parcel_order(status="created")
    c = login("operator")
    resp = c.post(f"/orders/{order.id}/shipping", htmx=True,
                  data={"to": "fulfilled", "version": order.version, "note": "Packed"})
    assert resp.status_code == 200
    assert header_statuses(resp) == ["confirmed", "fulfilled"]
    rows = timeline(resp)
    assert len(rows) == 1
    assert "by hand Packed" in rows[0] and "Fulfilled" in rows[0]
    assert f"applied : by {c.user.username}" in rows[0]
    db.session.rollback()
    row = db.session.execute(select(ParcelEvent)).scalar_one()
    assert (row.source, row.maps_to, row.outcome) == ("manual", "fulfilled", "applied")
    assert audit_rows(resp)[0].statuses == ["created", "fulfilled"]


def test_move_by_hand_refused_leaves_timeline_empty(login, parcel_order):
    """A refused move writes no timeline row."""
    order, _ = parcel_order(status="created")
    resp = login("operator").post(f"/orders/{order.id}/shipping", htmx=True,
                                  data={"to": "delivered", "version": order.version})
    assert resp.status_code == 409
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ParcelEvent)) == 0


def test_parcel_label_link_only_for_web_addresses(login, parcel_order):
    """A label URL that is not http(s) (the carrier wrote it) is never made a link."""
    order, parcel = parcel_order(status="fulfilled")
    parcel.label_url = "javascript:alert(1)"
    db.session.commit()
    body = login("operator").get(f"/orders/{order.id}").get_data(as_text=True)
    assert "javascript:alert(1)" not in body
    assert ">Label</a>" not in body
