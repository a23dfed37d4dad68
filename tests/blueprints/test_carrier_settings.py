"""Carrier settings over HTTP: the list, the form, secrets, status table, rules, the test."""

import re
import socket
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Carrier, CarrierStatusMapping, ParcelEvent, TrackingRule, utcnow
from workers import carrier_checks
from workers.shipping import webhook_url

from .pages import heading, location, nav_links, squash, text

SECRET_KEY = "sk_live_9f8e7d6c5b4a39281706"
SECRET_HOOK = "whsec_0a1b2c3d4e5f60718293"
POLL = re.compile(r'hx-get="(/settings/carriers/\d+/test/[^"]+)"')


def form(**overrides) -> dict:
    """A complete carrier form as a browser posts it (unchecked boxes are left out)."""
    data = {"name": "Amana Express", "code": "amana", "kind": "sandbox", "active": "y",
            "base_url": "", "api_key": "", "webhook_secret": "", "detect_as": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def carriers_count() -> int:
    """How many carriers are stored."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Carrier))


def stored(carrier_id: int) -> Carrier:
    """A carrier as stored, after the request's work."""
    db.session.rollback()
    return db.session.get(Carrier, carrier_id)


def unmapped_event(parcel, code: str, text_: str = "", ago: int = 0) -> ParcelEvent:
    """A carrier event nobody mapped, received `ago` minutes ago."""
    at = utcnow() - timedelta(minutes=ago)
    event = ParcelEvent(parcel_id=parcel.id, carrier_id=parcel.carrier_id, occurred_at=at,
                        received_at=at, source="api", raw_code=code, raw_text=text_,
                        outcome="unmapped", reason="no mapping",
                        dedupe_key=f"{code}|{text_}|{at.isoformat()}")
    db.session.add(event)
    db.session.commit()
    return event


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- access -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "operator"])
@pytest.mark.parametrize("path", ["/settings/carriers", "/settings/carriers/new",
                                  "/settings/carriers/{id}"])
def test_carrier_settings_refused_for_agents_and_operators(login, make_carrier, role, path):
    """Only managers and admins open carrier settings."""
    carrier = make_carrier()
    resp = login(role).get(path.format(id=carrier.id))
    assert resp.status_code == 403
    assert heading(resp) == "Not allowed"


@pytest.mark.parametrize("role", ["agent", "operator"])
def test_carrier_settings_writes_refused_for_agents_and_operators(login, make_carrier, role):
    """Agents and operators cannot change a carrier, its statuses or start a test."""
    carrier = make_carrier(name="Kept")
    c = login(role)
    for url, data in [(f"/settings/carriers/{carrier.id}", form(name="Taken")),
                      (f"/settings/carriers/{carrier.id}/mappings",
                       {"raw_status": "LIVRE", "maps_to": "delivered"}),
                      (f"/settings/carriers/{carrier.id}/test", {})]:
        assert c.post(url, data=data).status_code == 403
    assert stored(carrier.id).name == "Kept"
    assert db.session.scalar(select(func.count()).select_from(CarrierStatusMapping)) == 0


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_carrier_settings_nav_entry_for_managers_and_admins(login, role):
    """Managers and admins find Carriers in the menu, and it opens the list."""
    c = login(role)
    links = nav_links(c.get("/boards/"))
    assert links["Carriers"] == "/settings/carriers"
    assert heading(c.get("/settings/carriers")) == "Carriers"


# --- the list -----------------------------------------------------------------------


def test_carriers_list_shows_health_and_unmapped_count(login, make_carrier, parcel_order):
    """Name, kind, active, last sync, last error and the distinct unmapped statuses."""
    synced = utcnow()
    amana = make_carrier(name="Amana", kind="http_json", last_sync_at=synced,
                         last_error="Amana answered 503")
    old_post = make_carrier(name="Old post", kind="local", active=False)
    _, parcel = parcel_order(carrier=amana)
    unmapped_event(parcel, "X1", ago=3)
    unmapped_event(parcel, "X1", ago=2)
    unmapped_event(parcel, "X2", ago=1)
    resp = login("manager").get("/settings/carriers")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    row = body.split('data-carrier="' + amana.code + '"', 1)[1].split("</tr>", 1)[0]
    assert "http_json" in row and "yes" in row
    assert 'class="flag flag-red carrier-error">Amana answered 503<' in row
    assert 'data-unmapped="2"' in row
    old = body.split('data-carrier="' + old_post.code + '"', 1)[1].split("</tr>", 1)[0]
    assert "Old post" in old and "no" in old and 'data-unmapped="0"' in old
    assert "Add carrier" in text(resp)


# --- creating and editing -------------------------------------------------------------


def test_carrier_create_saves_and_shows_webhook_url(login):
    """A valid form makes the carrier, audits it, and its page shows the webhook URL."""
    c = login("manager")
    resp = c.post("/settings/carriers/new", data=form(
        kind="aftership", setting_slug="amana", detect_as="S10:MA, ups",
        base_url="https://api.example.com", api_key=SECRET_KEY, local_delivery="y"))
    assert resp.status_code == 303, text(resp)
    carrier = db.session.execute(select(Carrier).filter_by(code="amana")).scalar_one()
    assert (carrier.name, carrier.kind, carrier.active, carrier.local_delivery) == (
        "Amana Express", "aftership", True, True)
    assert carrier.settings == {"slug": "amana", "detect_as": ["s10:ma", "ups"]}
    assert carrier.api_key == SECRET_KEY and carrier.webhook_secret is None
    assert location(resp)[0] == f"/settings/carriers/{carrier.id}"
    audit = db.session.execute(select(AuditEvent).filter_by(kind="carrier")).scalar_one()
    assert audit.order_id is None and audit.actor_user_id == c.user.id
    assert SECRET_KEY not in audit.note

    page = c.get(location(resp)[0])
    assert "Amana Express saved." in text(page)
    assert f'value="{webhook_url(carrier)}"' in text(page)
    assert webhook_url(carrier).endswith("/api/v1/carriers/amana/webhook")
    assert "readonly" in page.get_data(as_text=True)


@pytest.mark.parametrize("code", ["Amana", "amana express", "amana_express", "-amana",
                                  "amana--x", "a" * 41])
def test_carrier_create_bad_code_refused(login, code):
    """A code that is not a lower-case slug is refused with the form and nothing saved."""
    resp = login("manager").post("/settings/carriers/new", data=form(code=code,
                                                                     api_key=SECRET_KEY))
    assert resp.status_code == 422
    assert "lower-case letters, digits" in text(resp)
    assert heading(resp) == "Add carrier"
    assert 'value="Amana Express"' in resp.get_data(as_text=True)
    assert SECRET_KEY not in resp.get_data(as_text=True)
    assert carriers_count() == 0


def test_carrier_create_duplicate_code_refused(login, make_carrier):
    """A code another carrier has is refused, naming the clash; nothing saved."""
    make_carrier(code="amana", name="First")
    resp = login("manager").post("/settings/carriers/new", data=form(code="amana"))
    assert resp.status_code == 422
    assert "Another carrier already has the code “amana”." in text(resp)
    assert carriers_count() == 1


def test_carrier_create_unknown_detect_as_refused(login):
    """detect_as entries must be couriers detection knows."""
    c = login("manager")
    resp = c.post("/settings/carriers/new", data=form(detect_as="ups, laposte"))
    assert resp.status_code == 422
    assert "“laposte” is not a courier detection knows" in text(resp)
    resp = c.post("/settings/carriers/new", data=form(detect_as="ups:ma"))
    assert resp.status_code == 422
    assert "only s10 takes a country" in text(resp)
    assert carriers_count() == 0


def test_carrier_create_htmx_boosted_error_keeps_page(login):
    """A boosted form post with an error gets the whole page back as a 422."""
    resp = login("manager").post("/settings/carriers/new", data=form(name=""), htmx=True,
                                 headers={"HX-Boosted": "true"})
    assert resp.status_code == 422
    assert "<html" in resp.get_data(as_text=True)
    assert "Name: This field is required." in text(resp)
    assert carriers_count() == 0


def test_carrier_edit_secrets_never_shown(login, make_carrier):
    """Stored secrets show as •••• and their last four; no page or fragment holds them whole."""
    carrier = make_carrier(name="Amana", code="amana", api_key=SECRET_KEY,
                           webhook_secret=SECRET_HOOK)
    c = login("manager")
    pages = [c.get("/settings/carriers"), c.get(f"/settings/carriers/{carrier.id}"),
             c.hx_get(f"/settings/carriers/fields?kind=sandbox&carrier_id={carrier.id}"),
             c.post(f"/settings/carriers/{carrier.id}", data=form(code="Bad Code",
                                                                 api_key="sk_new_value_123456"))]
    for resp in pages:
        body = resp.get_data(as_text=True)
        assert SECRET_KEY not in body and SECRET_HOOK not in body
        assert "sk_new_value_123456" not in body
    edit = text(pages[1])
    assert "•••• 1706" in edit and "•••• 8293" in edit
    assert pages[3].status_code == 422


def test_carrier_edit_empty_secret_fields_keep_stored(login, make_carrier):
    """Saving with the secret fields left empty changes the rest and keeps both secrets."""
    carrier = make_carrier(name="Amana", code="amana", api_key=SECRET_KEY,
                           webhook_secret=SECRET_HOOK)
    resp = login("manager").post(f"/settings/carriers/{carrier.id}",
                                 data=form(name="Amana Express", base_url="https://a.example"))
    assert resp.status_code == 303
    saved = stored(carrier.id)
    assert (saved.name, saved.base_url) == ("Amana Express", "https://a.example")
    assert (saved.api_key, saved.webhook_secret) == (SECRET_KEY, SECRET_HOOK)


def test_carrier_edit_new_secret_replaces_and_clear_removes(login, make_carrier):
    """A typed secret replaces the stored one; the clear box removes the other."""
    carrier = make_carrier(name="Amana", code="amana", api_key=SECRET_KEY,
                           webhook_secret=SECRET_HOOK)
    c = login("manager")
    resp = c.post(f"/settings/carriers/{carrier.id}", data=form(
        name="Amana", api_key=" sk_second_key_000042 ", clear_webhook_secret="y"))
    assert resp.status_code == 303
    saved = stored(carrier.id)
    assert (saved.api_key, saved.webhook_secret) == ("sk_second_key_000042", None)
    note = db.session.execute(select(AuditEvent.note).filter_by(kind="carrier")).scalar_one()
    assert "API key replaced" in note and "webhook secret cleared" in note
    assert "sk_second_key_000042" not in note


def test_carrier_edit_adapter_settings_follow_the_kind(login, make_carrier):
    """http_json settings are stored by key; switching kind drops the old kind's keys."""
    carrier = make_carrier(name="Amana", code="amana", kind="sandbox")
    c = login("manager")
    resp = c.post(f"/settings/carriers/{carrier.id}", data=form(
        name="Amana", kind="http_json", setting_track_url="{base_url}/parcels/{tracking_number}",
        setting_event_status_path="status", setting_timezone="", detect_as="s10:ma"))
    assert resp.status_code == 303
    assert stored(carrier.id).settings == {
        "track_url": "{base_url}/parcels/{tracking_number}", "event_status_path": "status",
        "detect_as": ["s10:ma"]}
    page = c.get(f"/settings/carriers/{carrier.id}").get_data(as_text=True)
    assert 'value="{base_url}/parcels/{tracking_number}"' in page

    resp = c.post(f"/settings/carriers/{carrier.id}", data=form(
        name="Amana", kind="aftership", setting_slug="amana-ma", detect_as="s10:ma"))
    assert resp.status_code == 303
    assert stored(carrier.id).settings == {"slug": "amana-ma", "detect_as": ["s10:ma"]}


def test_carrier_fields_fragment_for_chosen_kind(login):
    """Changing the kind swaps in that adapter's settings, as a fragment."""
    c = login("manager")
    resp = c.hx_get("/settings/carriers/fields?kind=aftership")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert 'name="setting_slug"' in body and "Courier slug" in body
    assert 'name="setting_track_url"' in c.hx_get(
        "/settings/carriers/fields?kind=http_json").get_data(as_text=True)
    assert c.hx_get("/settings/carriers/fields?kind=nope").status_code == 404


# --- status table ---------------------------------------------------------------------


def test_carrier_mapping_add_change_delete_htmx(login, make_carrier):
    """Rows are added, changed and deleted in place, each answer the table fragment."""
    carrier = make_carrier(kind="http_json")
    c = login("manager")
    url = f"/settings/carriers/{carrier.id}/mappings"
    resp = c.post(url, data={"raw_status": " LIVRE ", "maps_to": "delivered"}, htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="mappings">')
    assert 'data-raw-status="LIVRE"' in body
    assert c.post(url, data={"raw_status": "LIVRE", "maps_to": "ignore"},
                  htmx=True).status_code == 200
    db.session.rollback()
    mapping = db.session.execute(select(CarrierStatusMapping)).scalar_one()
    assert (mapping.raw_status, mapping.maps_to) == ("LIVRE", "ignore")

    resp = c.post(f"{url}/{mapping.id}/delete", htmx=True)
    assert resp.status_code == 200
    assert 'data-raw-status="LIVRE"' not in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CarrierStatusMapping)) == 0
    notes = db.session.scalars(select(AuditEvent.note).filter_by(kind="carrier")).all()
    assert len(notes) == 3


def test_carrier_mapping_unknown_status_refused(login, make_carrier):
    """Only our eight shipping statuses or ignore; the refusal says so and saves nothing."""
    carrier = make_carrier()
    resp = login("manager").post(f"/settings/carriers/{carrier.id}/mappings",
                                 data={"raw_status": "LIVRE", "maps_to": "lost"}, htmx=True)
    assert resp.status_code == 422
    assert resp.headers["HX-Retarget"] == "#messages"
    assert db.session.scalar(select(func.count()).select_from(CarrierStatusMapping)) == 0


def test_carrier_mapping_of_another_carrier_not_found(login, make_carrier):
    """A mapping is deleted only through its own carrier's URL."""
    mine, other = make_carrier(), make_carrier()
    mapping = CarrierStatusMapping(carrier_id=other.id, raw_status="X", maps_to="shipped")
    db.session.add(mapping)
    db.session.commit()
    resp = login("manager").post(f"/settings/carriers/{mine.id}/mappings/{mapping.id}/delete")
    assert resp.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(CarrierStatusMapping)) == 1


def test_carrier_unmapped_statuses_listed_and_mapped_in_one_click(login, make_carrier,
                                                                  parcel_order):
    """Seen-but-unmapped statuses, newest first with counts; mapping one removes it."""
    carrier = make_carrier(kind="http_json")
    _, parcel = parcel_order(carrier=carrier)
    unmapped_event(parcel, "RET", "Retour expéditeur", ago=30)
    unmapped_event(parcel, "RET", "Retour expéditeur", ago=20)
    unmapped_event(parcel, "", "<b>x</b>", ago=10)
    unmapped_event(parcel, "ARR", "Arrivé au hub", ago=1)
    c = login("manager")
    page = c.get(f"/settings/carriers/{carrier.id}")
    body = page.get_data(as_text=True)
    listed = re.findall(r'<tr data-unmapped="([^"]*)">', body)
    assert listed == ["ARR", "&lt;b&gt;x&lt;/b&gt;", "RET"]
    assert "<b>x</b>" not in body
    ret = body.split('<tr data-unmapped="RET">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">2</td>' in ret and "Retour expéditeur" in text(page)

    resp = c.post(f"/settings/carriers/{carrier.id}/mappings",
                  data={"raw_status": "RET", "maps_to": "in_return"}, htmx=True)
    assert re.findall(r'<tr data-unmapped="([^"]*)">', resp.get_data(as_text=True)) == [
        "ARR", "&lt;b&gt;x&lt;/b&gt;"]
    assert 'data-raw-status="RET"' in resp.get_data(as_text=True)


# --- tracking rules -------------------------------------------------------------------


def test_carrier_rule_add_and_delete(login, make_carrier):
    """A rule is added (fragment back) and deleted."""
    carrier = make_carrier()
    c = login("manager")
    url = f"/settings/carriers/{carrier.id}/rules"
    resp = c.post(url, data={"kind": "regex", "pattern": r"^AMA\d{8}$", "position": "2"},
                  htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and body.lstrip().startswith('<div id="rules">')
    assert "^AMA\\d{8}$" in body and "Regular expression" in body
    db.session.rollback()
    rule = db.session.execute(select(TrackingRule)).scalar_one()
    assert (rule.kind, rule.pattern, rule.position) == ("regex", r"^AMA\d{8}$", 2)

    resp = c.post(f"{url}/{rule.id}/delete")
    assert resp.status_code == 303
    assert location(resp)[0] == f"/settings/carriers/{carrier.id}"
    assert db.session.scalar(select(func.count()).select_from(TrackingRule)) == 0


@pytest.mark.parametrize(("kind", "pattern", "message"), [
    ("regex", "^AMA(\\d+$", "The regular expression is not valid"),
    ("regex", "\\d*", "matches an empty code"),
    ("prefix", " - ", "only spaces and dashes"),
])
def test_carrier_rule_invalid_refused(login, make_carrier, kind, pattern, message):
    """A rule that cannot work is refused with the reason; nothing saved."""
    carrier = make_carrier()
    resp = login("manager").post(f"/settings/carriers/{carrier.id}/rules", htmx=True,
                                 data={"kind": kind, "pattern": pattern, "position": "0"})
    assert resp.status_code == 422
    assert message in text(resp)
    assert db.session.scalar(select(func.count()).select_from(TrackingRule)) == 0


# --- test connection --------------------------------------------------------------------


def start_test(c, carrier) -> str:
    """Press Test connection; the poll URL the widget carries."""
    resp = c.post(f"/settings/carriers/{carrier.id}/test", htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert 'hx-trigger="every 1s"' in body
    return POLL.search(body).group(1)


def test_carrier_test_connection_success_stops_polling(login, make_carrier, live_server,
                                                       run_jobs):
    """The job calls the sandbox; the poll then shows the account in green and stops."""
    carrier = make_carrier(kind="sandbox", base_url=f"{live_server}/sandbox/carrier",
                           api_key="k")
    c = login("manager")
    poll = start_test(c, carrier)
    waiting = c.hx_get(poll)
    assert 'hx-trigger="every 1s"' in waiting.get_data(as_text=True)
    assert "Waiting for a worker" in text(waiting)

    run_jobs()
    resp = c.hx_get(poll)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "hx-trigger" not in body
    assert 'class="flash flash-success"' in body
    assert f"Connected to {carrier.name} as account" in squash(text(resp))


def test_carrier_test_connection_unreachable_shows_failure(login, make_carrier, run_jobs):
    """A carrier nobody answers for gives a red message, not an error page."""
    carrier = make_carrier(kind="sandbox", base_url=f"http://127.0.0.1:{closed_port()}",
                           api_key="k")
    c = login("manager")
    poll = start_test(c, carrier)
    run_jobs()
    resp = c.hx_get(poll)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "hx-trigger" not in body
    assert 'class="flash flash-error"' in body
    assert f"Could not reach {carrier.name}" in text(resp)
    assert "Test again" in body


def test_carrier_test_result_of_another_carrier_refused(login, make_carrier, run_jobs):
    """A poll URL reads only its own carrier's test jobs, never another job."""
    mine, other = make_carrier(kind="local"), make_carrier(kind="local")
    c = login("manager")
    poll = start_test(c, other)
    run_jobs()
    job_id = poll.rsplit("/", 1)[1]
    assert c.hx_get(f"/settings/carriers/{mine.id}/test/{job_id}").status_code == 404
    for forged in ["register", f"carrier-test-{mine.id}-../x", "sync-carrier-1",
                   f"carrier-test-{mine.id}-{'g' * 32}"]:
        assert c.hx_get(f"/settings/carriers/{mine.id}/test/{forged}").status_code == 404
    assert "has no API to test" in text(c.hx_get(poll))


def test_carrier_test_result_expired_says_so(login, make_carrier):
    """A well-formed id whose job is gone asks to test again (no polling)."""
    carrier = make_carrier()
    resp = login("manager").hx_get(
        f"/settings/carriers/{carrier.id}/test/{carrier_checks.new_job_id(carrier.id)}")
    assert resp.status_code == 200
    assert "no longer kept" in text(resp) and "hx-trigger" not in resp.get_data(as_text=True)


def test_carrier_test_without_redis_says_so(app, login, make_carrier, monkeypatch):
    """With the queue unreachable the button answers that, not a 500."""
    carrier = make_carrier()
    c = login("manager")
    monkeypatch.setitem(app.extensions, "redis",
                        Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0",
                                       socket_connect_timeout=1))
    resp = c.post(f"/settings/carriers/{carrier.id}/test", htmx=True)
    assert resp.status_code == 200
    assert "(Redis) is unreachable" in text(resp)
    poll = c.hx_get(
        f"/settings/carriers/{carrier.id}/test/{carrier_checks.new_job_id(carrier.id)}")
    assert poll.status_code == 200 and "(Redis) is unreachable" in text(poll)
