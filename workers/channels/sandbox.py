"""The sandbox marketplace's adapter: codboard's side of the demo shop's order API.

It reaches the marketplace (blueprints/sandbox/marketplace.py) over real HTTP at
config.base_url, e.g. http://127.0.0.1:5000/sandbox/marketplace, with
`Authorization: Bearer <api_key>`, exactly as it would a real platform.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from models.intake.incoming import IncomingLine, IncomingOrder

from .base import ChannelError, ChannelRefused, Fulfilment, OrderPage, WebhookDelivery
from .http import (
    HttpChannel,
    as_bytes,
    header,
    naive_utc,
    note_with_reference,
    quantity,
    signature_matches,
    text,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
DELIVERY_HEADER = "X-Sandbox-Delivery"
ORDER_TOPICS = {"order.created", "order.updated", "order.canceled"}


class SandboxChannel(HttpChannel):
    """The built-in sandbox marketplace."""

    kind = "sandbox"
    settings_fields = ()
    page_limit = 100  # the marketplace's largest page

    # -- calls out -------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> OrderPage:
        """One page of orders changed after the marketplace's keyset cursor (updated_at, id)."""
        params = {"limit": self.page_limit}
        if cursor:
            params["after"] = cursor
        data = self.json_of(self.call("GET", self._url("/orders"), params=params,
                                      headers=self._headers()))
        listed, following = data.get("orders"), data.get("next")
        if not isinstance(listed, list) or not (following is None or isinstance(following, str)):
            raise ChannelError(f"{self.config.name} sent malformed JSON: no orders page.")
        orders = [incoming_order(o) for o in listed if isinstance(o, dict) and o.get("number")]
        return OrderPage(orders, following or cursor, more=bool(data.get("more")))

    def push_fulfilment(self, news: Fulfilment) -> None:
        """POST the fulfilment with its Idempotency-Key; "already fulfilled" is success."""
        url = self._url(f"/orders/{quote(news.external_id, safe='')}/fulfilment")
        body = {"tracking_number": news.tracking_number, "carrier": news.carrier_name,
                "tracking_url": news.tracking_url}
        response = self.call("POST", url, json=body, accept=(409,),
                             headers={**self._headers(), "Idempotency-Key": news.idempotency_key})
        if response.status_code == 409:
            answer = self.json_of(response)
            # Fulfilled before under another key (the news sent again): the shop knows.
            if answer.get("code") != "already_fulfilled":
                raise ChannelRefused(f"{self.config.name} refused (409): "
                                     f"{text(answer.get('error')) or 'conflict'}")

    # -- calls in --------------------------------------------------------------
    def verify_webhook(self, headers, body: bytes) -> bool:
        """True when X-Sandbox-Signature is the hex HMAC-SHA256 of the body with our secret."""
        return signature_matches(header(headers, SIGNATURE_HEADER), body,
                                 (self.config.webhook_secret,), encoding="hex")

    def parse_webhook(self, headers, body: bytes) -> WebhookDelivery:
        """{"topic", "order"}: the delivery id from X-Sandbox-Delivery and the order."""
        delivery_id = text(header(headers, DELIVERY_HEADER))
        if not delivery_id:
            raise ChannelError(f"{self.config.name} webhook without {DELIVERY_HEADER}.",
                               transient=False)
        try:
            data = json.loads(as_bytes(body))
        except ValueError as exc:
            raise ChannelError(f"{self.config.name} webhook: the body is not JSON.",
                               transient=False) from exc
        if not isinstance(data, dict):
            raise ChannelError(f"{self.config.name} webhook: not a JSON object.",
                               transient=False)
        topic, order = text(data.get("topic")), data.get("order")
        orders = []
        if topic in ORDER_TOPICS:
            if not isinstance(order, dict) or not order.get("number"):
                raise ChannelError(f"{self.config.name} webhook: no order with a number.",
                                   transient=False)
            orders.append(incoming_order(order))
        return WebhookDelivery(delivery_id=delivery_id[:128], topic=topic[:64], orders=orders)

    # -- HTTP ------------------------------------------------------------------
    def _url(self, path: str) -> str:
        """The marketplace URL of a path."""
        if not self.config.base_url:
            raise ChannelRefused(f"{self.config.name} has no API address set.")
        return self.config.base_url.rstrip("/") + path

    def _headers(self) -> dict:
        """The bearer key."""
        return {"Authorization": f"Bearer {self.config.api_key or ''}",
                "Accept": "application/json"}


def incoming_order(order: dict) -> IncomingOrder:
    """A marketplace order as an IncomingOrder."""
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    shipping = order.get("shipping") if isinstance(order.get("shipping"), dict) else {}
    items = [i for i in order.get("items") or [] if isinstance(i, dict)]
    prepaid = order.get("payment") == "prepaid"
    total = order.get("total_cents")
    return IncomingOrder(
        external_id=text(order.get("number")),
        customer_name=text(customer.get("name")),
        phone=text(customer.get("phone")),
        address=text(shipping.get("address")),
        city=text(shipping.get("city")),
        region=text(shipping.get("region")),
        lines=[IncomingLine(sku=text(i.get("sku")), quantity=quantity(i.get("quantity")),
                            unit_price_cents=i.get("unit_price_cents")
                            if isinstance(i.get("unit_price_cents"), int) else None,
                            name=text(i.get("name")))
               for i in items],
        # A prepaid order is collected by nobody on delivery.
        cod_amount_cents=0 if prepaid else (total if isinstance(total, int) else None),
        currency=text(order.get("currency")) or "MAD",
        paid=prepaid,
        canceled=order.get("status") == "canceled",
        shipping_method=text(shipping.get("method")),
        note=note_with_reference(order.get("note"), f"Sandbox {text(order.get('number'))}"),
        placed_at=naive_utc(order.get("created_at")),
    )
