"""The sandbox carrier's HTTP API: what a small courier company offers a shop, as JSON.

Accounts are API keys (any non-empty bearer key is one); parcels, pickups, tracking,
cancelation, printable labels and signed webhooks behave as a real carrier's would.
`/misbehave` makes the next calls fail in the ways real carriers do, for the tests.
"""

import hashlib
import secrets
import time
from functools import wraps

import barcode
from barcode.writer import SVGWriter
from flask import (
    Response,
    current_app,
    jsonify,
    make_response,
    render_template_string,
    request,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from models.base import db, utcnow
from models.sandbox import SandboxParcel

from . import bp
from .common import bearer_key, json_error
from .journeys import (
    ANSWER_TROUBLE,
    EVENT_TROUBLE,
    JOURNEYS,
    TROUBLE_MODES,
    choose_journey,
    distort,
    events_at,
    push_due_webhooks,
    set_trouble,
    take_trouble,
)

REQUIRED = ("reference", "customer_name", "phone", "address", "city", "currency")
MAX_NUMBERS = 100  # tracking numbers per track or pickup call
MAX_KEY = 100  # Idempotency-Key length (stored with a 17-character account prefix)




def carrier_api(view):
    """Require an API key, pass it to the view, and play any answer misbehaviour asked for."""

    @wraps(view)
    def wrapped(**kwargs):
        """Authenticate, maybe misbehave, run the view."""
        account = bearer_key()
        if account is None:
            body, status = json_error(401, "Missing API key: send 'Authorization: Bearer <key>'.")
            return body, status, {"WWW-Authenticate": 'Bearer realm="sandbox carrier"'}
        trouble = take_trouble(ANSWER_TROUBLE)
        if trouble and trouble.mode == "500":
            return json_error(500, "Internal error at the sandbox carrier (asked for).")
        response = make_response(view(account, **kwargs))
        if trouble and trouble.mode == "malformed":
            # The answer cut in half: the work is done, the shop cannot read the reply.
            text = response.get_data().rstrip()
            return Response(text[: max(1, len(text) // 2)], 200, mimetype="application/json")
        if trouble and trouble.mode == "timeout":
            # The work is done and committed; only the answer is late, as with a slow carrier.
            db.session.close()  # hold no connection while sleeping
            time.sleep(trouble.seconds)
        return response

    return wrapped


def _json_body() -> dict | None:
    """The request's JSON object, or None when the body is not one."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _scoped_key(account: str, key: str) -> str:
    """Idempotency keys belong to an account, as at real carriers: prefix a digest of it."""
    return f"{hashlib.sha256(account.encode()).hexdigest()[:16]}:{key}"


def _invalid_parcel_fields(data: dict) -> list[str]:
    """Names of the parcel fields that are missing or invalid."""
    fields = [name for name in REQUIRED
              if not isinstance(data.get(name), str) or not data[name].strip()]
    if len(str(data.get("reference", ""))) > 64:
        fields.append("reference")
    cod = data.get("cod_amount_cents")
    if not isinstance(cod, int) or isinstance(cod, bool) or cod < 0:
        fields.append("cod_amount_cents")
    items = data.get("items", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        fields.append("items")
    callback = data.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or len(callback) > 500
                                 or not callback.startswith(("http://", "https://"))):
        fields.append("callback_url")
    if data.get("journey") is not None and data["journey"] not in JOURNEYS:
        fields.append("journey")
    return list(dict.fromkeys(fields))


def _parcel_by_key(scoped_key: str) -> SandboxParcel | None:
    """The parcel registered with this (account-scoped) idempotency key, if any."""
    return db.session.execute(
        select(SandboxParcel).filter_by(idempotency_key=scoped_key)).scalar_one_or_none()


def _create_parcel(account: str, scoped_key: str, data: dict) -> tuple[SandboxParcel, bool]:
    """Insert a parcel; on a concurrent twin, (the twin, False). The unique key decides."""
    for _ in range(3):
        tracking_number = f"SBX{secrets.randbelow(10**10):010d}"
        parcel = SandboxParcel(
            tracking_number=tracking_number, idempotency_key=scoped_key, api_key=account,
            reference=data["reference"].strip(),
            journey=data.get("journey") or choose_journey(tracking_number),
            payload={name: data.get(name) for name in (
                "customer_name", "phone", "address", "city", "cod_amount_cents", "currency",
                "items")},
            registered_at=utcnow(), callback_url=data.get("callback_url"), pushed=0,
        )
        db.session.add(parcel)
        try:
            db.session.commit()
            return parcel, True
        except IntegrityError:
            db.session.rollback()
        twin = _parcel_by_key(scoped_key)
        if twin is not None:
            return twin, False
        # Otherwise the tracking number was taken: draw another.
    raise RuntimeError("no free tracking number after three draws")


def _registered(parcel: SandboxParcel) -> dict:
    """The registration answer."""
    return {
        "tracking_number": parcel.tracking_number,
        "label_url": _label_url(parcel.tracking_number),
    }


def _label_url(tracking_number: str) -> str:
    """The absolute URL of a parcel's printable label."""
    return url_for("sandbox.parcel_label", tracking_number=tracking_number, _external=True)


@bp.post("/carrier/parcels")
@carrier_api
def register_parcel(account: str):
    """Register a parcel: 201 the first time, 200 with the same parcel for a repeated key."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > MAX_KEY:
        return json_error(400, f"Send an Idempotency-Key header (1 to {MAX_KEY} characters); "
                           "a repeat with the same key returns the same parcel.")
    data = _json_body()
    if data is None:
        return json_error(400, "The body must be a JSON object.")
    fields = _invalid_parcel_fields(data)
    if fields:
        return json_error(422, "Some parcel fields are missing or invalid.", fields=fields)
    scoped = _scoped_key(account, key)
    parcel = _parcel_by_key(scoped)
    created = False
    if parcel is None:
        parcel, created = _create_parcel(account, scoped, data)
    return jsonify(_registered(parcel)), 201 if created else 200


def _tracking_numbers() -> tuple[list[str], tuple | None]:
    """The request's tracking numbers (deduplicated), or an error answer."""
    data = _json_body() or {}
    numbers = data.get("tracking_numbers")
    if (not isinstance(numbers, list) or not numbers
            or not all(isinstance(tn, str) and tn for tn in numbers)):
        return [], json_error(422, "Send tracking_numbers: a list of tracking numbers.",
                          fields=["tracking_numbers"])
    numbers = list(dict.fromkeys(numbers))
    if len(numbers) > MAX_NUMBERS:
        return [], json_error(422, f"At most {MAX_NUMBERS} tracking numbers per call.",
                          fields=["tracking_numbers"])
    return numbers, None


def _own_parcels(account: str, numbers: list[str]) -> dict[str, SandboxParcel]:
    """This account's parcels among these tracking numbers, by number."""
    rows = db.session.execute(
        select(SandboxParcel).where(SandboxParcel.api_key == account,
                                    SandboxParcel.tracking_number.in_(numbers))).scalars()
    return {parcel.tracking_number: parcel for parcel in rows}


@bp.post("/carrier/pickups")
@carrier_api
def pick_up_parcels(account: str):
    """Take packed parcels over now: their journeys start (a repeat keeps the first time)."""
    numbers, error = _tracking_numbers()
    if error:
        return error
    # One conditional UPDATE: a concurrent cancel and pickup cannot both win.
    db.session.execute(
        update(SandboxParcel)
        .where(SandboxParcel.api_key == account, SandboxParcel.tracking_number.in_(numbers),
               SandboxParcel.picked_up_at.is_(None), SandboxParcel.canceled_at.is_(None))
        .values(picked_up_at=utcnow()))
    db.session.commit()
    parcels = _own_parcels(account, numbers)
    return jsonify(
        picked_up=[tn for tn in numbers if tn in parcels and parcels[tn].picked_up_at],
        canceled=[tn for tn in numbers if tn in parcels and parcels[tn].canceled_at],
        unknown=[tn for tn in numbers if tn not in parcels],
    )


@bp.post("/carrier/track")
@carrier_api
def track_parcels(account: str):
    """Every visible event of up to 100 parcels; numbers of other accounts are unknown."""
    numbers, error = _tracking_numbers()
    if error:
        return error
    parcels = _own_parcels(account, numbers)
    trouble = take_trouble(EVENT_TROUBLE)
    now, step = utcnow(), current_app.config["SANDBOX_STEP_SECONDS"]
    answer = [
        {"tracking_number": tn,
         "events": [event.as_json() for event in
                    distort(events_at(parcels[tn], now, step), trouble and trouble.mode)]}
        for tn in numbers if tn in parcels
    ]
    return jsonify(parcels=answer, unknown=[tn for tn in numbers if tn not in parcels])


@bp.post("/carrier/parcels/<tracking_number>/cancel")
@carrier_api
def cancel_parcel(account: str, tracking_number: str):
    """Cancel a parcel not picked up yet (again is fine); 409 once it has left."""
    parcel = _own_parcels(account, [tracking_number]).get(tracking_number)
    if parcel is None:
        return json_error(404, f"No parcel {tracking_number} on this account.")
    db.session.execute(
        update(SandboxParcel)
        .where(SandboxParcel.id == parcel.id, SandboxParcel.picked_up_at.is_(None),
               SandboxParcel.canceled_at.is_(None))
        .values(canceled_at=utcnow()))
    db.session.commit()
    db.session.refresh(parcel)
    if parcel.canceled_at is None:
        return json_error(409, f"Parcel {tracking_number} was picked up at "
                           f"{parcel.picked_up_at:%Y-%m-%d %H:%M} UTC; it can no longer be "
                           "canceled.")
    return jsonify(tracking_number=tracking_number, canceled=True)


def _mask(key: str) -> str:
    """An API key as shown back: its last four characters only."""
    return "****" + key[-4:] if len(key) > 4 else "****"


@bp.get("/carrier/account")
@carrier_api
def show_account(account: str):
    """Who the key belongs to and how many parcels it registered (for Test connection)."""
    count = db.session.execute(
        select(func.count()).select_from(SandboxParcel)
        .where(SandboxParcel.api_key == account)).scalar_one()
    return jsonify(account=_mask(account), parcels=count)


LABEL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Label {{ parcel.tracking_number }}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; }
  .label { width: 100mm; border: 2px solid #000; padding: 4mm; margin: 4mm; }
  .label h1 { font-size: 16px; margin: 0 0 2mm; }
  .tn { font: bold 20px monospace; letter-spacing: 1px; }
  .cod { font-size: 20px; font-weight: bold; border: 2px solid #000; padding: 1mm 2mm; }
  .canceled { color: #b00; font-weight: bold; }
  @media print { .label { margin: 0; } }
</style></head>
<body><div class="label">
  <h1>Sandbox Carrier</h1>
  {% if parcel.canceled_at %}<p class="canceled">CANCELED: do not ship</p>{% endif %}
  <div>{{ barcode }}</div>
  <p class="tn">{{ parcel.tracking_number }}</p>
  <p><strong>{{ payload.customer_name }}</strong><br>{{ payload.phone }}<br>
     {{ payload.address }}<br>{{ payload.city }}</p>
  <p>Cash on delivery: <span class="cod">{{ payload.cod_amount_cents|money(payload.currency) }}
  </span></p>
  <p>Order {{ parcel.reference }}{% for item in payload["items"] or [] %}
    <br>{{ item.quantity }} × {{ item.name or item.sku }}{% endfor %}</p>
</div></body></html>
"""


def _barcode_svg(tracking_number: str) -> Markup:
    """A Code 128 barcode of the tracking number as inline SVG."""
    svg = barcode.get("code128", tracking_number, writer=SVGWriter()).render(
        writer_options={"module_height": 12, "quiet_zone": 2, "font_size": 0,
                        "text_distance": 0})
    text = svg.decode()
    # Inline SVG needs no XML declaration or doctype. The input is our own number.
    return Markup(text[text.index("<svg"):])


@bp.get("/carrier/labels/<tracking_number>")
def parcel_label(tracking_number: str):
    """A printable label; public like real carriers' label links, as it is opened to print."""
    parcel = db.session.execute(
        select(SandboxParcel).filter_by(tracking_number=tracking_number)).scalar_one_or_none()
    if parcel is None:
        return Response(f"No label for {tracking_number}.", 404, mimetype="text/plain")
    return render_template_string(LABEL, parcel=parcel, payload=parcel.payload or {},
                                  barcode=_barcode_svg(parcel.tracking_number))


# -- controls of the sandbox itself (not part of the carrier's API) ----------------------
@bp.post("/carrier/misbehave")
def set_misbehaviour():
    """Make the next calls misbehave: {"mode", "times": 1, "seconds": 3} ("off" clears)."""
    data = _json_body() or {}
    mode, times, seconds = data.get("mode"), data.get("times", 1), data.get("seconds", 3.0)
    fields = []
    if mode not in (*TROUBLE_MODES, "off"):
        fields.append("mode")
    if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 100:
        fields.append("times")
    if (not isinstance(seconds, int | float) or isinstance(seconds, bool)
            or not 0 < seconds <= 60):
        fields.append("seconds")
    if fields:
        return json_error(422, f"mode is one of {', '.join((*TROUBLE_MODES, 'off'))}; times 1 to "
                           "100; seconds above 0, at most 60.", fields=fields)
    set_trouble(mode, times, float(seconds))
    return jsonify(mode=mode, times=0 if mode == "off" else times, seconds=float(seconds))


@bp.post("/carrier/push")
def push_webhooks():
    """Push due webhooks now (demo and tests); the carrier's side, so it may wait on the shop."""
    return jsonify(sent=push_due_webhooks())
