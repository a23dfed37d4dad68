"""Shopify through its REST Admin API: poll orders, read order webhooks, push fulfilments.

base_url is the shop's https root (https://boutique.myshopify.com); every call carries
X-Shopify-Access-Token = config.api_key. The API version is a setting: Shopify retires
each version after a year or so, and a retired one silently falls forward.

Settings: `api_version` (default 2026-07); `previous_webhook_secret`, the client secret
before a rotation, since Shopify keeps signing with it for up to an hour.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

from models.intake.incoming import IncomingLine, IncomingOrder

from .base import ChannelError, ChannelRefused, Fulfilment, OrderPage, WebhookDelivery
from .http import (
    HttpChannel,
    as_bytes,
    cents,
    header,
    joined,
    naive_utc,
    note_with_reference,
    quantity,
    signature_matches,
    text,
)

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-07"
PAGE_LIMIT = 250  # Shopify's largest page
FIRST_LOOK_BACK = timedelta(days=7)  # a new channel reads the last week, not the shop's history
ORDER_TOPICS = {"orders/create", "orders/updated", "orders/cancelled", "orders/paid"}
OPEN_FULFILMENT = {"open", "in_progress"}
HELD_FULFILMENT = {"on_hold", "scheduled"}
PAID = {"paid", "partially_refunded"}


class ShopifyChannel(HttpChannel):
    """A Shopify shop, reached over its REST Admin API."""

    kind = "shopify"
    settings_fields = (
        ("api_version", "Admin API version",
         f'The REST Admin API version to call, e.g. "{DEFAULT_API_VERSION}". Shopify '
         "supports each version for about a year."),
    )

    # -- calls out -------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> OrderPage:
        """One page of orders updated since the cursor, following Shopify's page_info links."""
        page, seen = _read_cursor(cursor)
        if page:
            # page_info carries the first request's filters; only limit may go with it.
            params = {"page_info": page, "limit": PAGE_LIMIT}
        else:
            params = {"status": "any", "updated_at_min": _stamp(seen), "limit": PAGE_LIMIT}
        response = self.call("GET", self._url("orders.json"), params=params,
                             headers=self._headers())
        listed = self.json_of(response).get("orders")
        if not isinstance(listed, list):
            raise ChannelError(f"{self.config.name} sent malformed JSON: no orders list.")
        orders = []
        for item in listed:
            if not isinstance(item, dict) or item.get("id") in (None, ""):
                log.warning("%s: an order without an id skipped", self.config.name)
                continue
            orders.append(incoming_order(item))
            updated = _aware(item.get("updated_at"))
            if updated is not None and updated > seen:
                seen = updated
        following = _next_page_info(response)
        if following:
            return OrderPage(orders, json.dumps({"page": following, "seen": _stamp(seen)}),
                             more=True)
        # Done: the next run asks from the latest change seen (inclusive, so the orders
        # updated in that very second come again and are recognised by their id).
        return OrderPage(orders, json.dumps({"since": _stamp(seen)}), more=False)

    def push_fulfilment(self, news: Fulfilment) -> None:
        """Fulfil the order's open fulfillment orders, with tracking when there is a number.

        The Idempotency-Key header is sent, but what really makes a retry harmless is the
        fulfillment-order check first: once fulfilled, nothing is left open to fulfil.
        """
        order = quote(news.external_id, safe="")
        response = self.call("GET", self._url(f"orders/{order}/fulfillment_orders.json"),
                             headers=self._headers())
        listed = self.json_of(response).get("fulfillment_orders")
        if not isinstance(listed, list):
            raise ChannelError(f"{self.config.name} sent malformed JSON: "
                               "no fulfillment_orders list.")
        listed = [fo for fo in listed if isinstance(fo, dict)]
        open_ones = [fo for fo in listed if fo.get("status") in OPEN_FULFILMENT]
        if not open_ones:
            if any(fo.get("status") in HELD_FULFILMENT for fo in listed):
                raise ChannelRefused(f"{self.config.name}: order {news.external_id} is on "
                                     "hold or scheduled in Shopify; release it there first.")
            return  # closed or cancelled: fulfilled already (an earlier try got through)
        fulfilment = {
            "notify_customer": True,
            "line_items_by_fulfillment_order": [
                {"fulfillment_order_id": fo["id"]} for fo in open_ones],
        }
        if news.tracking_number:
            fulfilment["tracking_info"] = {
                key: value for key, value in (("number", news.tracking_number),
                                              ("company", news.carrier_name),
                                              ("url", news.tracking_url)) if value}
        self.call("POST", self._url("fulfillments.json"), json={"fulfillment": fulfilment},
                  headers={**self._headers(), "Idempotency-Key": news.idempotency_key})

    # -- calls in --------------------------------------------------------------
    def verify_webhook(self, headers, body: bytes) -> bool:
        """Base64 HMAC-SHA256 of the raw body with the client secret (or the one before it)."""
        secrets = (self.config.webhook_secret,
                   (self.config.settings or {}).get("previous_webhook_secret"))
        return signature_matches(header(headers, "X-Shopify-Hmac-Sha256"), body, secrets,
                                 encoding="base64")

    def parse_webhook(self, headers, body: bytes) -> WebhookDelivery:
        """Delivery and event ids, the topic, and the order for the order topics."""
        delivery_id = text(header(headers, "X-Shopify-Webhook-Id"))
        if not delivery_id:
            raise ChannelError(f"{self.config.name} webhook without X-Shopify-Webhook-Id.",
                               transient=False)
        topic = text(header(headers, "X-Shopify-Topic"))
        event_id = text(header(headers, "X-Shopify-Event-Id")) or None
        orders = []
        if topic in ORDER_TOPICS:
            try:
                order = json.loads(as_bytes(body))
            except ValueError as exc:
                raise ChannelError(f"{self.config.name} webhook: the body is not JSON.",
                                   transient=False) from exc
            if not isinstance(order, dict) or order.get("id") in (None, ""):
                raise ChannelError(f"{self.config.name} webhook: no order with an id.",
                                   transient=False)
            orders.append(incoming_order(order))
        return WebhookDelivery(delivery_id=delivery_id[:128], topic=topic[:64], orders=orders,
                               event_id=event_id[:128] if event_id else None)

    # -- HTTP ------------------------------------------------------------------
    def _url(self, path: str) -> str:
        """The Admin API URL of a path, in the configured version."""
        if not self.config.base_url:
            raise ChannelRefused(f"{self.config.name} has no shop address set.")
        version = text((self.config.settings or {}).get("api_version")) or DEFAULT_API_VERSION
        return f"{self.config.base_url.rstrip('/')}/admin/api/{quote(version)}/{path}"

    def _headers(self) -> dict:
        """The access token and the JSON we expect back."""
        return {"X-Shopify-Access-Token": self.config.api_key or "",
                "Accept": "application/json"}


def incoming_order(order: dict) -> IncomingOrder:
    """A Shopify order resource (REST, or a webhook body) as an IncomingOrder."""
    shipping = order.get("shipping_address") if isinstance(order.get("shipping_address"),
                                                           dict) else {}
    billing = order.get("billing_address") if isinstance(order.get("billing_address"),
                                                         dict) else {}
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    place = shipping if (shipping.get("address1") or shipping.get("city")) else billing
    items = [i for i in order.get("line_items") or [] if isinstance(i, dict)]
    lines = [i for i in order.get("shipping_lines") or [] if isinstance(i, dict)]
    outstanding = cents(order.get("total_outstanding"))
    return IncomingOrder(
        external_id=text(order.get("id")),
        customer_name=(_person(shipping) or _person(billing) or _person(customer)),
        phone=(text(shipping.get("phone")) or text(billing.get("phone"))
               or text(customer.get("phone")) or text(order.get("phone"))),
        address=joined(place.get("address1"), place.get("address2")),
        city=text(place.get("city")),
        region=text(place.get("province")),
        lines=[IncomingLine(sku=text(item.get("sku")), quantity=quantity(item.get("quantity")),
                            unit_price_cents=cents(item.get("price")),
                            name=text(item.get("title")) or text(item.get("name")))
               for item in items],
        cod_amount_cents=(outstanding if outstanding is not None
                          else cents(order.get("total_price"))),
        currency=text(order.get("currency")),
        paid=order.get("financial_status") in PAID,
        canceled=order.get("cancelled_at") is not None,
        shipping_method=text(lines[0].get("title")) if lines else "",
        note=note_with_reference(order.get("note"), f"Shopify {text(order.get('name'))}"
                                 if order.get("name") else ""),
        placed_at=naive_utc(order.get("created_at")),
    )


def _person(part: dict) -> str:
    """A name from an address or customer: its `name`, else first and last."""
    return text(part.get("name")) or joined(part.get("first_name"), part.get("last_name"),
                                            sep=" ")


def _aware(value) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (for comparing shop-offset times)."""
    moment = naive_utc(value)
    return moment.replace(tzinfo=UTC) if moment else None


def _stamp(moment: datetime) -> str:
    """A UTC time as Shopify takes it in updated_at_min."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_cursor(cursor: str | None) -> tuple[str | None, datetime]:
    """(page_info to continue with or None, the latest change seen so far)."""
    start = datetime.now(UTC) - FIRST_LOOK_BACK
    if not cursor:
        return None, start
    try:
        state = json.loads(cursor)
    except ValueError:
        state = {"since": cursor}  # a bare time, as someone may set it by hand
    if not isinstance(state, dict):
        state = {}
    moment = _aware(state.get("seen") or state.get("since"))
    if moment is None:
        log.warning("unreadable Shopify cursor; reading the last %s again", FIRST_LOOK_BACK)
        return None, start
    page = state.get("page")
    return (page if isinstance(page, str) and page else None), moment


def _next_page_info(response) -> str | None:
    """The page_info of the Link header's rel="next" URL, verbatim; None on the last page."""
    url = (response.links.get("next") or {}).get("url")
    if not url:
        return None
    for pair in urlsplit(url).query.split("&"):
        name, _, value = pair.partition("=")
        if name == "page_info" and value:
            return unquote(value)  # not unquote_plus: a "+" in the token stays a "+"
    return None
