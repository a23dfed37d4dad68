"""The orders API: a channel creates orders with its key and reads back only its own.

POST is idempotent on (channel, external_id): the same order again answers 200 with
the order made the first time; different content under a used id is a 409 naming the
fields that differ.
"""

from collections import Counter

from flask import Response, request, url_for
from pydantic import BaseModel, ValidationError

from models.actor import Actor
from models.base import db
from models.catalog.sales import Channel
from models.intake.api_keys import ApiCaller
from models.intake.create import create_orders
from models.intake.incoming import IncomingLine, IncomingOrder, Problem
from models.phones import normalize_phone
from models.settings import CallSettings

from . import bp, schemas
from .auth import Refused, key_required
from .documents import find_order, order_page

MAX_BODY = 1_000_000  # bytes; one order with its lines is a few kilobytes
# Problem fields of the intake door, as paths of this API's request document.
REQUEST_PATHS = {"customer_name": "customer.name", "phone": "customer.phone",
                 "address": "customer.address", "city": "customer.city",
                 "region": "customer.region"}
SHOWN_ERRORS = 5


@bp.post("/orders")
@key_required
def create_order(caller: ApiCaller):
    """Take one order of the key's channel: 201 new, 200 the same again, 409 different."""
    new = _read_body(schemas.NewOrder)
    channel = db.session.get(Channel, caller.channel_id)
    [arrival] = create_orders(channel, [incoming(new)], Actor.channel(channel.code),
                              source="api", strict=True)
    if arrival.problems:
        raise _refusal(arrival.problems)
    if arrival.order_id is None:  # another request took this id and has not committed yet
        raise Refused(409, f"Order {new.external_id} is being received by another request; "
                           "send it again in a moment.")
    order = find_order(caller, arrival.order_id)  # read in the same transaction: one COMMIT
    if arrival.created:
        db.session.commit()
        return _json(order, 201, Location=url_for("api.get_order", order_id=order.id))
    _refuse_if_different(new, order)
    return _json(order, 200)


@bp.get("/orders/<order_id>")
@key_required
def get_order(caller: ApiCaller, order_id: str):
    """One order of the key's channel; another channel's is as unknown as a missing one."""
    # Any path segment reaches here, so that a wrong one is a JSON 404 too (not a page).
    number = int(order_id) if order_id.isascii() and order_id.isdigit() else 0
    order = find_order(caller, number)
    if order is None:
        raise Refused(404, f"There is no order {order_id} for this channel.")
    return _json(order, 200)


@bp.get("/orders")
@key_required
def list_orders(caller: ApiCaller):
    """The key's channel's orders, oldest change first, a keyset page at a time."""
    query = _validate(schemas.OrderQuery, request.args.to_dict(), "query")
    return _json(order_page(caller, query), 200)


def incoming(new: schemas.NewOrder) -> IncomingOrder:
    """The request as the intake door takes it (amounts in cents)."""
    customer = new.customer
    return IncomingOrder(
        external_id=new.external_id, customer_name=customer.name, phone=customer.phone,
        address=customer.address, city=customer.city, region=customer.region,
        lines=[IncomingLine(sku=line.sku, quantity=line.quantity,
                            unit_price_cents=line.unit_price) for line in new.lines],
        cod_amount_cents=new.cod_amount, currency=new.currency, paid=new.paid,
        shipping_method=new.shipping_method, note=new.note)


def _refuse_if_different(new: schemas.NewOrder, order: schemas.Order) -> None:
    """A 409 naming the fields in which the request differs from the order received."""
    differing = differences(new, order, CallSettings.load().phone_region)
    if differing:
        raise Refused(409, f"Order {new.external_id} was already received with different "
                           "content", differing)


def differences(new: schemas.NewOrder, order: schemas.Order, region: str) -> list[str]:
    """The request fields whose content differs from the order already received."""
    given, stored = new.customer, order.customer
    differing = [f"customer.{name}" for name in ("name", "phone", "address", "city", "region")
                 if not _same(name, getattr(given, name), getattr(stored, name), region)]
    # No amount given means "the lines' sum": nothing to compare it with.
    if new.cod_amount is not None and schemas.amount_text(new.cod_amount) != order.cod_amount:
        differing.append("cod_amount")
    if new.currency != order.currency:
        differing.append("currency")
    if (Counter((line.sku.strip(), line.quantity) for line in new.lines)
            != Counter((line.sku, line.quantity) for line in order.lines)):
        differing.append("lines")
    return differing


def _same(name: str, given: str, stored: str, region: str) -> bool:
    """The intake door stores text stripped; a phone is the same in any spelling."""
    given = given.strip()
    if given == stored:
        return True
    if name != "phone":
        return False
    normalized = normalize_phone(given, region)
    return bool(normalized) and normalized == normalize_phone(stored, region)


def _read_body(model: type[BaseModel]):
    """The JSON body validated by the model: 400 unreadable, 413 too big, 422 invalid."""
    if request.mimetype != "application/json":
        raise Refused(400, "Send the order as JSON, with “Content-Type: application/json”.")
    if (request.content_length or 0) > MAX_BODY:
        raise Refused(413, f"The body is larger than {MAX_BODY:,} bytes.")
    request.max_content_length = MAX_BODY  # a body sent without a length is cut off too
    return _validate(model, request.get_data(cache=False), "order", json=True)


def _validate(model: type[BaseModel], data, what: str, json: bool = False):
    """The model's instance from the data, or the refusal naming each field at fault."""
    try:
        return model.model_validate_json(data) if json else model.model_validate(data)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise Refused(400, f"The body is not valid JSON: {errors[0]['msg']}.") from None
        problems = [Problem(_path(e["loc"]), e["msg"]) for e in errors]
        raise _refusal(problems, f"The {what} was refused") from None


def _refusal(problems: list[Problem], lead: str = "The order was refused") -> Refused:
    """A 422 listing the problems (the first few in the message, every field in fields)."""
    fields = list(dict.fromkeys(REQUEST_PATHS.get(p.field, p.field) for p in problems))
    shown = "; ".join(f"{REQUEST_PATHS.get(p.field, p.field) or 'body'}: {p.message}"
                      for p in problems[:SHOWN_ERRORS])
    more = f" (and {len(problems) - SHOWN_ERRORS} more)" if len(problems) > SHOWN_ERRORS else ""
    return Refused(422, f"{lead}: {shown}{more}", [f for f in fields if f])


def _path(loc) -> str:
    """A pydantic error location as a request path: ("lines", 0, "sku") -> lines[0].sku."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _json(document: BaseModel, status: int, **headers) -> Response:
    """A document as the JSON answer."""
    return Response(document.model_dump_json(), status, headers=headers,
                    mimetype="application/json")
