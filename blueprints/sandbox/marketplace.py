"""The sandbox marketplace: a small online shop's order API, played for the demo and the tests.

Accounts are API keys (any non-empty bearer key is one) and every order belongs to the
key that created it. The shop lists orders changed since a keyset cursor, takes new
orders, cancels them, and takes one fulfilment per order (Idempotency-Key required).
`/misbehave` makes the next calls fail as real platforms do; `/` is a page listing the
orders with what each was told when it shipped.
"""

import json
import re
import secrets
import time
from datetime import datetime
from functools import wraps

from flask import Response, current_app, jsonify, make_response, render_template, request
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from models.base import db, utcnow
from models.sandbox import SandboxShopOrder

from . import bp
from .common import bearer_key, field_at, json_error
from .journeys import Trouble

PREFIX = "/marketplace"
TROUBLE_KEY = "sandbox:marketplace:misbehave"
TROUBLE_MODES = ("timeout", "500", "429", "malformed")
TROUBLE_TTL = 3600  # seconds: a forgotten switch does not haunt the demo forever
MAX_KEY = 128  # Idempotency-Key length (the column's)
MAX_QUANTITY = 999
PAGE_DEFAULT, PAGE_MAX = 50, 100
CURSOR = re.compile(r"^(\d{8}T\d{12})-(\d{1,18})$")  # 20250310T084713123456-42
FIELD_LIMITS = {"customer.name": 200, "customer.phone": 64, "shipping.address": 500,
                "shipping.city": 120, "shipping.region": 120, "shipping.method": 120,
                "note": 1000}
REQUIRED = ("customer.name", "customer.phone", "shipping.address", "shipping.city")
TRACKING_LIMITS = {"tracking_number": 64, "carrier": 120, "tracking_url": 500}




def shop_api(view):
    """Require an API key, pass it to the view, and play any misbehaviour asked for."""

    @wraps(view)
    def wrapped(**kwargs):
        """Authenticate, maybe misbehave, run the view."""
        account = bearer_key()
        if account is None:
            body, status = json_error(401, "Missing API key: send 'Authorization: Bearer <key>'.")
            return body, status, {"WWW-Authenticate": 'Bearer realm="sandbox marketplace"'}
        trouble = _take_trouble()
        if trouble and trouble.mode == "500":
            return json_error(500, "Internal error at the sandbox marketplace (asked for).")
        if trouble and trouble.mode == "429":
            body, status = json_error(429, "Too many requests (asked for by misbehave).")
            return body, status, {"Retry-After": str(max(1, round(trouble.seconds)))}
        response = make_response(view(account, **kwargs))
        if trouble and trouble.mode == "malformed":
            # The work is done; the answer arrives cut in half.
            text = response.get_data().rstrip()
            return Response(text[: max(1, len(text) // 2)], 200, mimetype="application/json")
        if trouble and trouble.mode == "timeout":
            # The work is done and committed; only the answer is late.
            db.session.close()  # hold no connection while sleeping
            time.sleep(trouble.seconds)
        return response

    return wrapped


# -- the shop's orders -------------------------------------------------------------------
def _invalid_items(items) -> bool:
    """True unless items is a non-empty list of {sku, quantity, unit_price_cents}."""
    if not isinstance(items, list) or not items:
        return True
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            return True
        qty, price = item.get("quantity"), item.get("unit_price_cents")
        if (not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QUANTITY
                or not isinstance(price, int) or isinstance(price, bool) or price < 0):
            return True
    return not all(item["sku"].strip() for item in items)


def invalid_order_fields(data: dict) -> list[str]:
    """Names of the order fields that are missing or invalid (dotted: customer.name)."""
    fields = [name for name in REQUIRED
              if not isinstance(field_at(data, name), str) or not field_at(data, name).strip()]
    fields += [name for name, limit in FIELD_LIMITS.items()
               if field_at(data, name) is not None
               and (not isinstance(field_at(data, name), str) or len(field_at(data, name)) > limit)]
    if _invalid_items(data.get("items")):
        fields.append("items")
    if not re.fullmatch(r"[A-Z]{3}", str(data.get("currency", "MAD"))):
        fields.append("currency")
    if data.get("payment", "cod") not in ("cod", "prepaid"):
        fields.append("payment")
    total = data.get("total_cents")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool) or total < 0):
        fields.append("total_cents")
    number = data.get("number")
    if number is not None and (not isinstance(number, str)
                               or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", number)):
        fields.append("number")
    return list(dict.fromkeys(fields))


def _payload(data: dict) -> dict:
    """What the shop keeps of a valid order, in its own shape."""
    items = [{"sku": i["sku"].strip(), "name": str(i.get("name") or "").strip()[:200],
              "quantity": i["quantity"], "unit_price_cents": i["unit_price_cents"]}
             for i in data["items"]]
    customer, shipping = data.get("customer") or {}, data.get("shipping") or {}
    return {
        "customer": {"name": customer["name"].strip(), "phone": customer["phone"].strip()},
        "shipping": {key: str(shipping.get(key) or "").strip()
                     for key in ("address", "city", "region", "method")},
        "items": items,
        "total_cents": data.get("total_cents",
                                sum(i["quantity"] * i["unit_price_cents"] for i in items)),
        "currency": data.get("currency", "MAD"),
        "payment": data.get("payment", "cod"),
        "note": str(data.get("note") or "").strip(),
    }


def create_shop_order(account: str, data: dict) -> tuple[SandboxShopOrder | None, bool]:
    """Insert a valid order for an account: (order, True); its number again: (it, False).

    A number another account holds gives (None, False).
    """
    wanted = data.get("number")
    for _ in range(3):
        now = utcnow()
        order = SandboxShopOrder(number=wanted or f"SB-{secrets.randbelow(10**8):08d}",
                                 api_key=account, payload=_payload(data), status="open",
                                 created_at=now, updated_at=now)
        db.session.add(order)
        try:
            db.session.commit()
            return order, True
        except IntegrityError:
            db.session.rollback()
        if wanted:
            twin = db.session.execute(
                select(SandboxShopOrder).filter_by(number=wanted)).scalar_one()
            return (twin, False) if twin.api_key == account else (None, False)
        # Otherwise the drawn number was taken: draw another.
    raise RuntimeError("no free order number after three draws")


def _stamp(moment: datetime | None) -> str | None:
    """A stored UTC time on the wire."""
    return moment.isoformat(timespec="microseconds") + "Z" if moment else None


def as_json(order: SandboxShopOrder) -> dict:
    """An order on the wire."""
    return {"number": order.number, "status": order.status, **(order.payload or {}),
            "created_at": _stamp(order.created_at), "updated_at": _stamp(order.updated_at),
            "fulfilment": order.fulfilment}


def _cursor(order: SandboxShopOrder) -> str:
    """The keyset position just after this order."""
    return f"{order.updated_at:%Y%m%dT%H%M%S%f}-{order.id}"


def _own_order(account: str, number: str) -> SandboxShopOrder | None:
    """This account's order with that number, or None."""
    return db.session.execute(select(SandboxShopOrder).filter_by(
        number=number, api_key=account)).scalar_one_or_none()


@bp.get(f"{PREFIX}/orders")
@shop_api
def list_shop_orders(account: str):
    """Orders changed after the cursor, oldest change first; `next` resumes after them."""
    after, limit = request.args.get("after", ""), request.args.get("limit", str(PAGE_DEFAULT))
    match = CURSOR.match(after) if after else None
    if after and match is None:
        return json_error(400, "after must be a cursor this API returned.")
    if not limit.isdigit() or not 1 <= int(limit) <= PAGE_MAX:
        return json_error(400, f"limit is a number from 1 to {PAGE_MAX}.")
    query = select(SandboxShopOrder).where(SandboxShopOrder.api_key == account)
    if match:
        at, last_id = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%f"), int(match.group(2))
        query = query.where(or_(SandboxShopOrder.updated_at > at,
                                and_(SandboxShopOrder.updated_at == at,
                                     SandboxShopOrder.id > last_id)))
    rows = db.session.execute(query.order_by(SandboxShopOrder.updated_at, SandboxShopOrder.id)
                              .limit(int(limit) + 1)).scalars().all()
    page = rows[:int(limit)]
    return jsonify(orders=[as_json(o) for o in page],
                   next=_cursor(page[-1]) if page else (after or None),
                   more=len(rows) > len(page))


@bp.post(f"{PREFIX}/orders")
@shop_api
def create_order(account: str):
    """Take a new order: 201 with it; 200 with the same one for a number sent again."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return json_error(400, "The body must be a JSON object.")
    fields = invalid_order_fields(data)
    if fields:
        return json_error(422, "Some order fields are missing or invalid.", fields=fields)
    order, created = create_shop_order(account, data)
    if order is None:
        return json_error(409, f"Order number {data['number']} belongs to another account.")
    return jsonify(as_json(order)), 201 if created else 200


@bp.post(f"{PREFIX}/orders/<number>/cancel")
@shop_api
def cancel_order(account: str, number: str):
    """Cancel an open order (again is fine); 409 once it was fulfilled."""
    order = _own_order(account, number)
    if order is None:
        return json_error(404, f"No order {number} on this account.")
    db.session.execute(update(SandboxShopOrder)
                       .where(SandboxShopOrder.id == order.id, SandboxShopOrder.status == "open")
                       .values(status="canceled", updated_at=utcnow()))
    db.session.commit()
    db.session.refresh(order)
    if order.status == "fulfilled":
        return json_error(409, f"Order {number} was fulfilled; it can no longer be canceled.",
                      code="fulfilled")
    return jsonify(as_json(order))


def _tracking(data) -> tuple[dict, list[str]]:
    """The fulfilment's tracking fields (strings or null), and the invalid ones."""
    if not isinstance(data, dict):
        return {}, ["body"]
    told, fields = {}, []
    for name, limit in TRACKING_LIMITS.items():
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            fields.append(name)
        told[name] = (value.strip() or None) if isinstance(value, str) else None
    url = told.get("tracking_url")
    if url and not url.startswith(("http://", "https://")):
        fields.append("tracking_url")
    return told, fields


@bp.post(f"{PREFIX}/orders/<number>/fulfilment")
@shop_api
def fulfil_order(account: str, number: str):
    """Mark an order shipped, once: the same key answers the first result, another is a 409."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > MAX_KEY:
        return json_error(400, f"Send an Idempotency-Key header (1 to {MAX_KEY} characters); "
                           "a repeat with the same key returns the first result.")
    told, fields = _tracking(request.get_json(silent=True))
    if fields:
        return json_error(422, "Some fulfilment fields are invalid.", fields=fields)
    order = _own_order(account, number)
    if order is None:
        return json_error(404, f"No order {number} on this account.")
    now = utcnow()
    # One conditional UPDATE: two fulfilments racing cannot both win.
    done = db.session.execute(
        update(SandboxShopOrder)
        .where(SandboxShopOrder.id == order.id, SandboxShopOrder.status == "open")
        .values(status="fulfilled", fulfilment={**told, "at": _stamp(now)},
                fulfilment_key=key, updated_at=now)).rowcount
    db.session.commit()
    db.session.refresh(order)
    if done:
        return jsonify(as_json(order)), 201
    if order.fulfilment_key == key:
        return jsonify(as_json(order)), 200
    if order.status == "fulfilled":
        return json_error(409, f"Order {number} is fulfilled already.", code="already_fulfilled")
    return json_error(409, f"Order {number} was canceled; it cannot be fulfilled.",
                  code="canceled")


# -- controls of the sandbox itself (not part of the shop's API) -------------------------
def _redis():
    """The app's Redis connection."""
    return current_app.extensions["redis"]


def _take_trouble() -> Trouble | None:
    """The next pending misbehaviour, used up (an atomic LPOP: no two requests share it)."""
    token = _redis().lpop(TROUBLE_KEY)
    return Trouble(**json.loads(token)) if token else None


@bp.post(f"{PREFIX}/misbehave")
def set_marketplace_misbehaviour():
    """Make the next calls misbehave: {"mode", "times": 1, "seconds": 3} ("off" clears)."""
    data = request.get_json(silent=True)
    data = data if isinstance(data, dict) else {}
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
    pipe = _redis().pipeline()
    pipe.delete(TROUBLE_KEY)
    if mode != "off":
        pipe.rpush(TROUBLE_KEY, *[json.dumps({"mode": mode, "seconds": seconds})] * times)
        pipe.expire(TROUBLE_KEY, TROUBLE_TTL)
    pipe.execute()
    return jsonify(mode=mode, times=0 if mode == "off" else times, seconds=float(seconds))


def _mask(key: str) -> str:
    """An API key as shown on the page: its last four characters only."""
    return "****" + key[-4:] if len(key) > 4 else "****"


@bp.get(f"{PREFIX}/")
def marketplace_page():
    """The shop's orders, newest first, with their status and the tracking they were told."""
    orders = db.session.execute(select(SandboxShopOrder).order_by(
        SandboxShopOrder.created_at.desc(), SandboxShopOrder.id.desc()).limit(200)
    ).scalars().all()
    return render_template("sandbox/marketplace.html", orders=orders, mask=_mask)
