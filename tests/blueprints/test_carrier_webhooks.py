"""The webhook endpoint with every carrier kind that sends webhooks: a good signature is
stored once and applied by the job; a bad or missing one is a 401 that writes nothing."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Order
from models.shipping.tables import CarrierWebhook, ParcelEvent
from tests.workers.carriers.test_http_json import SETTINGS as HTTP_JSON_SETTINGS
from tests.workers.carriers.test_http_json import STATUS_MAP

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aftership"
SECRET = "webhook-secret-for-tests"


def aftership_delivery():
    """AfterShip's delivered webhook (our fixture) and its base64 HMAC header."""
    body = (FIXTURES / "webhook_delivered.json").read_bytes()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return json.loads(body)["msg"]["tracking_number"], body, {
        "aftership-hmac-sha256": base64.b64encode(digest).decode()}


def http_json_delivery():
    """A local courier's webhook in the shape its settings describe, hex HMAC signed."""
    event = {"id": 71, "status": "PICKED_UP", "comment": "Colis ramassé", "city": "Fès",
             "date": "2026-11-20T09:00:00"}
    body = json.dumps({"parcel": {"code": "RPD-5501"}, "data": {"history": [event]}}).encode()
    return "RPD-5501", body, {
        "X-Rapido-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "X-Rapido-Delivery": "rapido-1"}


KINDS = {
    "aftership": (aftership_delivery, {"slug": "amana"}, "delivered", {}),
    "http_json": (http_json_delivery, HTTP_JSON_SETTINGS, "shipped", STATUS_MAP),
}


@pytest.fixture(params=list(KINDS))
def courier(request, make_carrier):
    """(carrier, tracking number, body, signature headers, status the event maps to)."""
    delivery, settings, status, mapping = KINDS[request.param]
    carrier = make_carrier(kind=request.param, code=f"{request.param.replace('_', '-')}-x",
                           base_url="http://127.0.0.1:9", api_key="k",
                           webhook_secret=SECRET, settings=settings)
    from models.shipping.tables import CarrierStatusMapping

    for raw, maps_to in mapping.items():
        db.session.add(CarrierStatusMapping(carrier_id=carrier.id, raw_status=raw,
                                            maps_to=maps_to))
    db.session.commit()
    number, body, headers = delivery()
    return carrier, number, body, headers, status


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(CarrierWebhook))


def post(client, carrier, body, headers):
    return client.post(f"/api/v1/carriers/{carrier.code}/webhook", data=body,
                       headers={"Content-Type": "application/json", **headers}, csrf=False)


def test_signed_webhook_is_stored_once_and_moves_the_order(client, courier, parcel_order,
                                                           run_jobs):
    carrier, number, body, headers, status = courier
    order, _parcel = parcel_order("shipped" if status == "delivered" else "fulfilled",
                                  tracking=number, carrier=carrier)
    assert post(client, carrier, body, headers).status_code == 202
    assert post(client, carrier, body, headers).status_code == 200  # a redelivery
    assert stored() == 1
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Order, order.id).shipping_status == status
    assert db.session.scalar(select(func.count()).select_from(ParcelEvent).where(
        ParcelEvent.source == "webhook", ParcelEvent.outcome == "applied")) >= 1


def test_stored_delivery_keeps_the_signature_but_no_credential(client, courier):
    carrier, _number, body, headers, _status = courier
    sent = {**headers, "Authorization": "Bearer partner-token", "Cookie": "sid=abc"}
    assert post(client, carrier, body, sent).status_code == 202
    kept = db.session.scalars(select(CarrierWebhook.headers)).one()
    assert "authorization" not in kept and "cookie" not in kept
    assert {k.lower() for k in headers} <= set(kept)  # the signature stays for tracing


@pytest.mark.parametrize("tamper", ["missing", "wrong secret", "body changed"])
def test_bad_or_missing_signature_is_401_and_writes_nothing(client, courier, tamper):
    carrier, _number, body, headers, _status = courier
    if tamper == "missing":
        headers = {k: v for k, v in headers.items() if "ignature" not in k and "hmac" not in k}
    elif tamper == "wrong secret":
        headers = {k: ("c2lnbmF0dXJl" if "ignature" in k or "hmac" in k else v)
                   for k, v in headers.items()}
    else:
        body = body.replace(b"2", b"3", 1)
    resp = post(client, carrier, body, headers)
    assert resp.status_code == 401 and resp.get_json()["error"]
    assert stored() == 0
