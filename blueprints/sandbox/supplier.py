"""The sandbox dropship supplier's HTTP API: a wholesaler that takes a shop's orders as JSON.

Accounts are API keys (any non-empty bearer key is one) and every order belongs to the
key that sent it. An order is decided when it arrives: accepted, or refused for the
reasons real suppliers give (unknown SKU, out of stock, an address it does not serve).
An accepted order leaves the warehouse SANDBOX_SUPPLIER_SHIP_SECONDS later: the first
read after that time ships it with a tracking number of the sandbox carrier, which
gets the parcel, so codboard's tracking sync of the sandbox carrier follows it.

The sandbox carrier shows a parcel only to the account that owns it. A supplier ships
on its customer's carrier account, as dropship suppliers often do: the parcel belongs
to SANDBOX_SUPPLIER_CARRIER_KEY when that is set, else to the key the order came with
(the demo's shop uses the same key for both sandboxes).
"""

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from flask import current_app, jsonify, request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from models.base import db, utcnow
from models.sandbox import SandboxParcel, SandboxSupplierOrder
from models.text import without_accents

from . import bp
from .common import bearer_key, field_at, json_error
from .journeys import choose_journey

PREFIX = "/supplier"
# The supplier's SKUs and what its warehouse holds of each (the demo's mapped SKUs).
CATALOGUE = {"ATL-SW-X8U": 50, "ATL-AF-5000": 20, "ATL-BL-HOT2": 30, "ATL-MG-PRO": 3,
             "ATL-RV-S1": 2}
# Cities its couriers do not reach, folded (lower case, no accents).
NOT_SERVED = {"dakhla": "Dakhla", "laayoune": "Laâyoune", "guelmim": "Guelmim",
              "smara": "Smara"}
MIN_ADDRESS = 8
CARRIER_NAME = "Sandbox Express"
MAX_KEY = 100  # Idempotency-Key length (stored with a 17-character account prefix)
MAX_NUMBERS = 100  # order numbers per status call
MAX_QUANTITY = 999
LIMITS = {"reference": 64, "customer.name": 200, "customer.phone": 64,
          "customer.address": 500, "customer.city": 120, "customer.region": 120,
          "shipping_method": 120, "currency": 3}
REQUIRED = ("reference", "customer.name", "customer.phone", "customer.address",
            "customer.city")


def supplier_api(view):
    """Require an API key and pass it to the view as the account."""

    @wraps(view)
    def wrapped(**kwargs):
        """Authenticate, then run the view."""
        account = bearer_key()
        if account is None:
            body, status = json_error(401, "Missing API key: send 'Authorization: Bearer <key>'.")
            return body, status, {"WWW-Authenticate": 'Bearer realm="sandbox supplier"'}
        return view(account, **kwargs)

    return wrapped


# -- reading a submission ------------------------------------------------------------------
def _bad_lines(lines) -> bool:
    """True unless lines is a non-empty list of {sku: text, quantity: 1 to 999}."""
    if not isinstance(lines, list) or not lines:
        return True
    for line in lines:
        if not isinstance(line, dict):
            return True
        sku, quantity = line.get("sku"), line.get("quantity")
        if (not isinstance(sku, str) or not sku.strip() or len(sku) > 64
                or not isinstance(quantity, int) or isinstance(quantity, bool)
                or not 1 <= quantity <= MAX_QUANTITY):
            return True
    return False


def invalid_fields(data: dict) -> list[str]:
    """Names of the fields that are missing or not of the right kind (dotted)."""
    fields = [name for name in REQUIRED if not isinstance(field_at(data, name), str)]
    fields += [name for name in ("reference", "customer.name", "customer.phone")
               if isinstance(field_at(data, name), str) and not field_at(data, name).strip()]
    fields += [name for name, limit in LIMITS.items()
               if field_at(data, name) is not None
               and (not isinstance(field_at(data, name), str) or len(field_at(data, name)) > limit)]
    if _bad_lines(data.get("lines")):
        fields.append("lines")
    return list(dict.fromkeys(fields))


def _payload(data: dict) -> dict:
    """What the supplier keeps of a valid submission."""
    customer = data["customer"]
    return {
        "customer": {key: str(customer.get(key) or "").strip()
                     for key in ("name", "phone", "address", "city", "region")},
        "shipping_method": str(data.get("shipping_method") or "").strip(),
        "currency": str(data.get("currency") or "MAD").strip(),
        "lines": [{"sku": line["sku"].strip(), "quantity": line["quantity"]}
                  for line in data["lines"]],
    }


def _folded(text: str) -> str:
    """Text compared as people mean it: no accents, no case, single spaces."""
    plain = without_accents(text)
    return " ".join(plain.casefold().replace("-", " ").split())


def decide(payload: dict) -> tuple[str, str] | None:
    """(code, reason) when the supplier refuses the order, checked in a fixed order; else None."""
    wanted: dict[str, int] = {}
    for line in payload["lines"]:
        wanted[line["sku"]] = wanted.get(line["sku"], 0) + line["quantity"]
    for sku in wanted:
        if sku not in CATALOGUE:
            return "unknown_sku", f"Unknown SKU {sku}: not in our catalogue"
    for sku, quantity in wanted.items():
        if quantity > CATALOGUE[sku]:
            return "out_of_stock", (f"Out of stock: {sku} ({CATALOGUE[sku]} available, "
                                    f"{quantity} asked)")
    customer = payload["customer"]
    city = NOT_SERVED.get(_folded(customer["city"]).replace(" ", ""))
    if city:
        return "not_serviceable", f"Address not serviceable: we do not deliver to {city}"
    if len(customer["address"]) < MIN_ADDRESS:
        return "address_too_short", (f"Address too short: “{customer['address']}” needs the "
                                     f"street and number (at least {MIN_ADDRESS} characters)")
    return None


# -- orders ------------------------------------------------------------------------------
def _scoped_key(account: str, key: str) -> str:
    """Idempotency keys belong to an account: prefix a digest of it."""
    return f"{hashlib.sha256(account.encode()).hexdigest()[:16]}:{key}"


def _by_key(scoped_key: str) -> SandboxSupplierOrder | None:
    """The order submitted with this (account-scoped) idempotency key, if any."""
    return db.session.execute(select(SandboxSupplierOrder).filter_by(
        idempotency_key=scoped_key)).scalar_one_or_none()


def _create(account: str, scoped_key: str, data: dict) -> tuple[SandboxSupplierOrder, bool]:
    """Decide and insert an order: (it, True); a concurrent twin wins: (the twin, False)."""
    payload = _payload(data)
    refusal = decide(payload)
    for _ in range(3):
        now = utcnow()
        order = SandboxSupplierOrder(
            number=f"SUP-{secrets.randbelow(10**8):08d}", idempotency_key=scoped_key,
            api_key=account, reference=data["reference"].strip(), created_at=now,
            payload={**payload, "code": refusal[0]} if refusal else payload,
            status="rejected" if refusal else "accepted", reason=refusal[1] if refusal else "",
            ships_at=None if refusal else now + timedelta(seconds=_ship_seconds()))
        db.session.add(order)
        try:
            db.session.commit()
            return order, True
        except IntegrityError:
            db.session.rollback()
        twin = _by_key(scoped_key)
        if twin is not None:
            return twin, False
        # Otherwise the drawn number was taken: draw another.
    raise RuntimeError("no free order number after three draws")


def _ship_seconds() -> float:
    """How long an accepted order waits in the warehouse."""
    return float(current_app.config.get("SANDBOX_SUPPLIER_SHIP_SECONDS", 120))


def ship_if_due(order: SandboxSupplierOrder) -> None:
    """Ship an accepted order whose time has come, handing its parcel to the sandbox carrier.

    The order's move and the carrier's parcel are one transaction, and the move is a
    conditional UPDATE: two reads at once ship it once, a cancel racing it loses or wins
    whole.
    """
    if order.status != "accepted" or order.ships_at is None or utcnow() < order.ships_at:
        return
    for _ in range(3):
        tracking_number = f"SBX{secrets.randbelow(10**10):010d}"
        moved = db.session.execute(
            update(SandboxSupplierOrder)
            .where(SandboxSupplierOrder.id == order.id, SandboxSupplierOrder.status == "accepted")
            .values(status="shipped", tracking_number=tracking_number, carrier=CARRIER_NAME)
        ).rowcount
        if not moved:
            db.session.rollback()  # shipped or canceled meanwhile
            break
        db.session.add(_parcel(order, tracking_number))
        try:
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()  # the carrier had that tracking number: draw another
    else:
        raise RuntimeError("no free tracking number after three draws")
    db.session.refresh(order)


def _parcel(order: SandboxSupplierOrder, tracking_number: str) -> SandboxParcel:
    """The sandbox carrier's parcel for a shipped order, its journey started when it left."""
    customer, payload = order.payload["customer"], order.payload
    return SandboxParcel(
        tracking_number=tracking_number, idempotency_key=f"supplier:{order.number}",
        api_key=current_app.config.get("SANDBOX_SUPPLIER_CARRIER_KEY") or order.api_key,
        reference=order.reference, journey=choose_journey(tracking_number),
        # The shop collects nothing through the supplier: the label asks no cash.
        payload={"customer_name": customer["name"], "phone": customer["phone"],
                 "address": customer["address"], "city": customer["city"],
                 "cod_amount_cents": 0, "currency": payload.get("currency", "MAD"),
                 "items": [{"sku": line["sku"], "name": line["sku"],
                            "quantity": line["quantity"]} for line in payload["lines"]]},
        registered_at=order.ships_at, picked_up_at=order.ships_at, callback_url=None, pushed=0)


def as_json(order: SandboxSupplierOrder) -> dict:
    """An order on the wire."""
    answer = {"number": order.number, "reference": order.reference, "status": order.status,
              "error": order.reason or None, "tracking_number": order.tracking_number,
              "carrier": order.carrier}
    if order.status == "rejected":
        answer["code"] = (order.payload or {}).get("code")
    return answer


def _own(account: str, numbers: list[str]) -> dict[str, SandboxSupplierOrder]:
    """This account's orders among these numbers, by number."""
    rows = db.session.execute(select(SandboxSupplierOrder).where(
        SandboxSupplierOrder.api_key == account,
        SandboxSupplierOrder.number.in_(numbers))).scalars()
    return {order.number: order for order in rows}


@bp.post(f"{PREFIX}/orders")
@supplier_api
def submit_supplier_order(account: str):
    """Take an order: 201 accepted or 422 refused; 200 with the same order for a repeated key."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > MAX_KEY:
        return json_error(400, f"Send an Idempotency-Key header (1 to {MAX_KEY} characters); "
                               "a repeat with the same key returns the same order.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return json_error(400, "The body must be a JSON object.")
    fields = invalid_fields(data)
    if fields:
        return json_error(400, "Some order fields are missing or invalid.", fields=fields)
    scoped = _scoped_key(account, key)
    order, created = _by_key(scoped), False
    if order is None:
        order, created = _create(account, scoped, data)
    if not created:
        ship_if_due(order)
        return jsonify(as_json(order)), 200
    return jsonify(as_json(order)), 201 if order.status == "accepted" else 422


@bp.get(f"{PREFIX}/orders/<number>")
@supplier_api
def show_supplier_order(account: str, number: str):
    """One order as it stands now (it ships once its time has come)."""
    order = _own(account, [number]).get(number)
    if order is None:
        return json_error(404, f"No order {number} on this account.")
    ship_if_due(order)
    return jsonify(as_json(order))


@bp.post(f"{PREFIX}/orders/status")
@supplier_api
def supplier_order_statuses(account: str):
    """Up to 100 orders at once, for polling; numbers this account does not have are unknown."""
    data = request.get_json(silent=True)
    numbers = data.get("numbers") if isinstance(data, dict) else None
    if (not isinstance(numbers, list) or not numbers
            or not all(isinstance(n, str) and n.strip() for n in numbers)):
        return json_error(400, "Send numbers: a list of order numbers.", fields=["numbers"])
    numbers = list(dict.fromkeys(numbers))
    if len(numbers) > MAX_NUMBERS:
        return json_error(400, f"At most {MAX_NUMBERS} order numbers per call.",
                          fields=["numbers"])
    orders = _own(account, numbers)
    for order in orders.values():
        ship_if_due(order)
    return jsonify(orders=[as_json(orders[n]) for n in numbers if n in orders],
                   unknown=[n for n in numbers if n not in orders])


@bp.post(f"{PREFIX}/orders/<number>/cancel")
@supplier_api
def cancel_supplier_order(account: str, number: str):
    """Cancel an order that has not left (again is fine); 409 once shipped or if refused."""
    order = _own(account, [number]).get(number)
    if order is None:
        return json_error(404, f"No order {number} on this account.")
    ship_if_due(order)  # one whose time has come has left the warehouse already
    db.session.execute(
        update(SandboxSupplierOrder)
        .where(SandboxSupplierOrder.id == order.id, SandboxSupplierOrder.status == "accepted")
        .values(status="canceled", canceled_at=utcnow()))
    db.session.commit()
    db.session.refresh(order)
    if order.status == "shipped":
        return json_error(409, f"Already shipped with {order.carrier}, tracking "
                               f"{order.tracking_number}; order {number} can no longer be "
                               "canceled.", code="shipped")
    if order.status == "rejected":
        return json_error(409, f"Order {number} was refused ({order.reason}); there is "
                               "nothing to cancel.", code="rejected")
    return jsonify(as_json(order))
