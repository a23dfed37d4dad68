"""The JSON API's documents as pydantic models: what a request may say, what an answer says.

The views validate with these models and openapi.py generates the OpenAPI document
from them, so what is documented is what is enforced.
"""

import base64
import binascii
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from models.intake.incoming import FIELD_LIMITS, MAX_QUANTITY
from models.status import Confirmation, PushStatus, Shipping

# orders.cod_amount_cents is a 32-bit INTEGER on PostgreSQL; stay well inside it.
MAX_AMOUNT_CENTS = 1_000_000_000
MAX_LINES = 100
PAGE_LIMIT, DEFAULT_LIMIT = 200, 50
AMOUNT = re.compile(r"^\d{1,8}(\.\d{1,2})?$")
AMOUNT_TEXT = r"^-?\d+\.\d{2}$"  # how answers write amounts: "129.00"
SKU_MAX = 64  # order_lines.sku
MAX_ID = 2**31 - 1  # orders.id is a 32-bit INTEGER on PostgreSQL


def _cents(value) -> int:
    """An amount given as "129.00" or 129 or 129.5, in cents; refused when not money."""
    if isinstance(value, str) and AMOUNT.match(value):
        amount = Decimal(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # str() first: a float's shortest spelling is what the sender wrote (129.1, not 129.09…).
        try:
            amount = Decimal(str(value))
        except InvalidOperation as error:
            raise ValueError("must be an amount such as \"129.00\"") from error
    else:
        raise ValueError("must be an amount such as \"129.00\" (a string or a number)")
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a positive amount")
    if amount * 100 > MAX_AMOUNT_CENTS:
        raise ValueError(f"must be at most {MAX_AMOUNT_CENTS // 100}.00")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError("must have at most two decimals")
    return int(cents)


def _text(value: str) -> str:
    """Refuse what no database column can hold: NUL characters, lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode text") from error
    return value


def Text(limit: int, **field):
    """A string of at most `limit` characters that a database can store."""
    return Annotated[str, Field(max_length=limit, **field), AfterValidator(_text)]


Money = Annotated[int, BeforeValidator(_cents), WithJsonSchema({
    "anyOf": [{"type": "string", "pattern": AMOUNT.pattern},
              {"type": "number", "minimum": 0, "maximum": MAX_AMOUNT_CENTS // 100}],
    "description": "A decimal string or a number with at most two decimals.",
    "examples": ["129.00"]})]
AmountText = Annotated[str, Field(pattern=AMOUNT_TEXT, examples=["129.00"])]
Timestamp = Annotated[str, WithJsonSchema({
    "type": "string", "format": "date-time", "examples": ["2026-03-01T09:30:00Z"],
    "description": "UTC, ISO 8601."})]


def amount_text(cents: int) -> str:
    """12900 -> "129.00" (a negative amount keeps its sign)."""
    sign, cents = ("-" if cents < 0 else ""), abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def timestamp(value: datetime) -> str:
    """A stored (naive UTC) time as ISO 8601 with Z."""
    return value.isoformat(timespec="seconds") + "Z"


# --- requests -----------------------------------------------------------------------


class NewCustomer(BaseModel):
    """Who receives the parcel and pays on delivery."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Text(FIELD_LIMITS["customer_name"])
    phone: Text(FIELD_LIMITS["phone"], description="Local or international format.")
    address: Text(FIELD_LIMITS["address"])
    city: Text(FIELD_LIMITS["city"])
    region: Text(FIELD_LIMITS["region"]) = ""


class NewLine(BaseModel):
    """One product: a SKU of the catalogue; without a unit price the catalogue's is used."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sku: Text(SKU_MAX, min_length=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    unit_price: Money | None = None


class NewOrder(BaseModel):
    """An order the channel sends; sending it again with the same external_id is safe."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{
        "external_id": "1042", "customer": {
            "name": "Salma Idrissi", "phone": "0612345678",
            "address": "12 rue Ibn Battouta", "city": "Casablanca"},
        "lines": [{"sku": "MUG-1", "quantity": 2}], "cod_amount": "129.00"}]})

    external_id: Text(FIELD_LIMITS["external_id"], min_length=1,
                      description="The channel's own order number: the idempotency key.")
    customer: NewCustomer
    lines: list[NewLine] = Field(min_length=1, max_length=MAX_LINES)
    cod_amount: Money | None = Field(
        None, description="What the customer pays on delivery; the lines' sum when absent.")
    currency: str = Field("MAD", pattern=r"^[A-Z]{3}$")
    shipping_method: Text(FIELD_LIMITS["shipping_method"]) = ""
    note: Text(FIELD_LIMITS["note"]) = ""
    paid: bool = Field(False, description="Already paid (the channel took the money).")

    @field_validator("lines")
    @classmethod
    def _total_fits(cls, lines: list[NewLine]) -> list[NewLine]:
        total = sum(line.quantity * (line.unit_price or 0) for line in lines)
        if total > MAX_AMOUNT_CENTS:
            raise ValueError(f"the lines add up to more than {MAX_AMOUNT_CENTS // 100}.00")
        return lines


def _position(value):
    """A cursor as the (updated_at, id) it stands for; a garbled one is refused."""
    garbled = ValueError("is not a cursor this API gave out")
    if not isinstance(value, str):
        raise garbled
    try:
        at, _, order_id = base64.urlsafe_b64decode(value.encode("ascii")).decode().partition("|")
        position = datetime.fromisoformat(at), int(order_id)
    except (ValueError, UnicodeError, binascii.Error) as error:
        raise garbled from error
    if position[0].tzinfo is not None or not 0 < position[1] <= MAX_ID:
        raise garbled
    return position


def cursor(updated_at: datetime, order_id: int) -> str:
    """The opaque cursor of the page after this order."""
    return base64.urlsafe_b64encode(f"{updated_at.isoformat()}|{order_id}".encode()).decode()


def _as_utc(value: datetime) -> datetime:
    """A time with its zone as naive UTC (how times are stored); none given means UTC."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError as error:
        raise ValueError("is out of range") from error


Position = Annotated[tuple[datetime, int], BeforeValidator(_position), WithJsonSchema({
    "type": "string", "description": "next_cursor of the previous page (opaque)."})]


class OrderQuery(BaseModel):
    """Filters and paging of the order list, read from the query string."""

    confirmation: Confirmation | None = Field(None, description="Only this confirmation status.")
    shipping: Shipping | None = Field(None, description="Only this shipping status.")
    updated_since: Annotated[datetime, AfterValidator(_as_utc)] | None = Field(
        None, description="Only orders changed at or after this time (ISO 8601).")
    cursor: Position | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=PAGE_LIMIT, description="Orders per page.")


# --- answers ------------------------------------------------------------------------


class Customer(BaseModel):
    """The customer as the order stores them."""

    name: str
    phone: str
    address: str
    city: str
    region: str


class Line(BaseModel):
    """One product on the order, at the price it was sold."""

    sku: str
    name: str
    quantity: int
    unit_price: AmountText


class Order(BaseModel):
    """An order as this channel sees it, with where the call center and the parcel are."""

    id: int
    external_id: str
    channel: str = Field(description="The channel's code.")
    customer: Customer
    lines: list[Line]
    cod_amount: AmountText
    currency: str
    paid: bool
    confirmation_status: Confirmation
    shipping_status: Shipping | None = Field(description="null until the order is confirmed.")
    push_status: PushStatus = Field(description="Whether the order went on to confirmation.")
    tracking_number: str | None
    carrier: str | None = Field(description="The carrier's name, once one is chosen.")
    created_at: Timestamp
    updated_at: Timestamp


class OrderPage(BaseModel):
    """One page of orders, oldest change first; next_cursor is null on the last page."""

    orders: list[Order]
    next_cursor: str | None


class Error(BaseModel):
    """What was refused and which request fields are at fault (paths like lines[0].sku)."""

    error: str
    fields: list[str]


class WebhookReceipt(BaseModel):
    """A webhook delivery taken: stored now (accepted) or already stored (duplicate)."""

    status: Literal["accepted", "duplicate"]
    delivery_id: str


class WebhookError(BaseModel):
    """Why a webhook delivery was not taken."""

    error: str
