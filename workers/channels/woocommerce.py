"""WooCommerce through its REST API v3: poll orders, read order webhooks, push shipping news.

base_url is the store's root (https://boutique.ma); calls go to /wp-json/wc/v3 with HTTP
Basic auth, consumer key (config.api_key) and secret (config.api_secret), which
WooCommerce accepts over HTTPS.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

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

API_PATH = "/wp-json/wc/v3"
PER_PAGE = 100  # WordPress's cap
FIRST_LOOK_BACK = timedelta(days=7)  # a new channel reads the last week, not the shop's history
# WooCommerce compares modified_after strictly, to the second: asking from one second
# before the latest change seen also brings the orders saved in that same second.
OVERLAP = timedelta(seconds=1)
CANCELED = {"cancelled", "refunded", "failed", "trash"}
# Statuses our "completed" may still replace; anything else was the shop's own decision.
STILL_OPEN = {"pending", "processing", "on-hold"}
ORDER_TOPICS = {"order.created", "order.updated", "order.restored"}
PING = re.compile(rb"^webhook_id=(\d{1,20})$")


class WooCommerceChannel(HttpChannel):
    """A WooCommerce store, reached over its REST API v3."""

    kind = "woocommerce"
    settings_fields = ()

    # -- calls out -------------------------------------------------------------
    def fetch_orders(self, cursor: str | None) -> OrderPage:
        """One page of orders modified since the cursor, oldest change first."""
        after, page, seen = _read_cursor(cursor)
        params = {"modified_after": _stamp(after - OVERLAP), "dates_are_gmt": "true",
                  "orderby": "modified", "order": "asc", "per_page": PER_PAGE, "page": page}
        response = self.call("GET", self._url("/orders"), params=params, auth=self._auth())
        listed = self.json_of(response, list)
        orders = []
        for item in listed:
            if not isinstance(item, dict) or item.get("id") in (None, ""):
                log.warning("%s: an order without an id skipped", self.config.name)
                continue
            orders.append(incoming_order(item))
            modified = naive_utc(item.get("date_modified_gmt"))
            if modified is not None and modified > seen:
                seen = modified
        if _more_pages(response, page, len(listed)):
            state = {"after": _stamp(after), "page": page + 1, "seen": _stamp(seen)}
            return OrderPage(orders, json.dumps(state), more=True)
        return OrderPage(orders, json.dumps({"after": _stamp(seen)}), more=False)

    def push_fulfilment(self, news: Fulfilment) -> None:
        """A customer note with the tracking (once per key), then the order completed."""
        order = quote(news.external_id, safe="")
        notes = self.json_of(self.call("GET", self._url(f"/orders/{order}/notes"),
                                       auth=self._auth()), list)
        mark = f"[ref {news.idempotency_key}]"
        if any(isinstance(n, dict) and mark in text(n.get("note")) for n in notes):
            # An earlier try got through at least the note (its answer was lost): complete
            # the order only if nobody moved it on since.
            current = self.json_of(self.call("GET", self._url(f"/orders/{order}"),
                                             auth=self._auth()))
            if current.get("status") not in STILL_OPEN:
                return
        else:
            self.call("POST", self._url(f"/orders/{order}/notes"), auth=self._auth(),
                      json={"note": _shipped_note(news, mark), "customer_note": True})
        self.call("PUT", self._url(f"/orders/{order}"), auth=self._auth(),
                  json={"status": "completed"})

    # -- calls in --------------------------------------------------------------
    def verify_webhook(self, headers, body: bytes) -> bool:
        """Base64 HMAC-SHA256 of the raw body with the webhook secret.

        WooCommerce's ping on saving a webhook carries no signature and must get a 200 or
        the shop shows an error; it is taken as it is, since it carries nothing to apply.
        """
        if _ping_id(headers, body) is not None:
            return True
        return signature_matches(header(headers, "X-WC-Webhook-Signature"), body,
                                 (self.config.webhook_secret,), encoding="base64")

    def parse_webhook(self, headers, body: bytes) -> WebhookDelivery:
        """Delivery id, topic and the order of an order.created/updated/restored delivery."""
        ping = _ping_id(headers, body)
        if ping is not None:
            return WebhookDelivery(delivery_id=f"ping:{ping}", topic="ping", orders=[])
        delivery = text(header(headers, "X-WC-Webhook-Delivery-ID"))
        if not delivery:
            raise ChannelError(f"{self.config.name} webhook without X-WC-Webhook-Delivery-ID.",
                               transient=False)
        topic = text(header(headers, "X-WC-Webhook-Topic"))
        try:
            data = json.loads(as_bytes(body))
        except ValueError as exc:
            raise ChannelError(f"{self.config.name} webhook: the body is not JSON.",
                               transient=False) from exc
        resource = text(data.get("id")) if isinstance(data, dict) else ""
        # The delivery id is a hash of the webhook id and the current second: two orders
        # sent in one second share it, so the resource id makes it unique.
        delivery_id = f"{delivery}:{resource}" if resource else delivery
        orders, event_id = [], None
        if topic in ORDER_TOPICS:
            if not resource:
                raise ChannelError(f"{self.config.name} webhook: no order with an id.",
                                   transient=False)
            orders.append(incoming_order(data))
            # The same order state sent twice (a burst of saves) has the same event id.
            event_id = f"{resource}@{text(data.get('date_modified_gmt'))}"
        # order.deleted carries only the id: nothing an order can be made or updated from.
        return WebhookDelivery(delivery_id=delivery_id[:128], topic=topic[:64], orders=orders,
                               event_id=event_id[:128] if event_id else None)

    # -- HTTP ------------------------------------------------------------------
    def _url(self, path: str) -> str:
        """The REST v3 URL of a path."""
        if not self.config.base_url:
            raise ChannelRefused(f"{self.config.name} has no store address set.")
        return self.config.base_url.rstrip("/") + API_PATH + path

    def _auth(self) -> tuple[str, str]:
        """HTTP Basic: consumer key and consumer secret."""
        return (self.config.api_key or "", self.config.api_secret or "")


def incoming_order(order: dict) -> IncomingOrder:
    """A WooCommerce order (REST answer or webhook body) as an IncomingOrder."""
    shipping = order.get("shipping") if isinstance(order.get("shipping"), dict) else {}
    billing = order.get("billing") if isinstance(order.get("billing"), dict) else {}
    place = shipping if (shipping.get("address_1") or shipping.get("city")) else billing
    items = [i for i in order.get("line_items") or [] if isinstance(i, dict)]
    methods = [i for i in order.get("shipping_lines") or [] if isinstance(i, dict)]
    paid_on = order.get("date_paid_gmt") or order.get("date_paid")
    return IncomingOrder(
        external_id=text(order.get("id")),
        customer_name=_person(shipping) or _person(billing),
        phone=(text(shipping.get("phone")) or text(billing.get("phone"))
               or _meta(order, "_shipping_phone")),
        address=joined(place.get("address_1"), place.get("address_2")),
        city=text(place.get("city")),
        region=text(place.get("state")),
        lines=[IncomingLine(sku=text(item.get("sku")), quantity=quantity(item.get("quantity")),
                            unit_price_cents=cents(item.get("price")),
                            name=text(item.get("name")))
               for item in items],
        cod_amount_cents=cents(order.get("total")),
        currency=text(order.get("currency")),
        # WooCommerce stamps date_paid on any order reaching processing or completed,
        # cash on delivery included: a COD order is paid only when the courier collects.
        paid=paid_on is not None and order.get("payment_method") != "cod",
        canceled=order.get("status") in CANCELED,
        shipping_method=text(methods[0].get("method_title")) if methods else "",
        note=note_with_reference(order.get("customer_note"),
                                 f"WooCommerce #{text(order.get('number') or order.get('id'))}"),
        placed_at=naive_utc(order.get("date_created_gmt")),
    )


def _shipped_note(news: Fulfilment, mark: str) -> str:
    """The customer note: carrier, tracking number and link, and our reference."""
    if not news.tracking_number:
        return f"Shipped (no tracking number) {mark}"
    carrier = f" with {news.carrier_name}" if news.carrier_name else ""
    return joined(f"Shipped{carrier}, tracking {news.tracking_number}", news.tracking_url,
                  mark, sep=" ")


def _person(part: dict) -> str:
    """First and last name of an address."""
    return joined(part.get("first_name"), part.get("last_name"), sep=" ")


def _meta(order: dict, key: str) -> str:
    """A meta_data value (older stores keep the shipping phone there)."""
    for item in order.get("meta_data") or []:
        if isinstance(item, dict) and item.get("key") == key:
            return text(item.get("value"))
    return ""


def _ping_id(headers, body) -> str | None:
    """The webhook id of WooCommerce's ping (a form body, no topic); None otherwise."""
    if header(headers, "X-WC-Webhook-Topic"):
        return None
    match = PING.match(as_bytes(body).strip())
    return match.group(1).decode() if match else None


def _more_pages(response, page: int, count: int) -> bool:
    """Whether pages follow, by X-WP-TotalPages (a full page when the header is missing)."""
    total = response.headers.get("X-WP-TotalPages")
    if total is not None and total.strip().isdigit():
        return page < int(total)
    return count >= PER_PAGE


def _stamp(moment: datetime) -> str:
    """A naive UTC time as WooCommerce writes its *_gmt dates."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _read_cursor(cursor: str | None) -> tuple[datetime, int, datetime]:
    """(modified_after of this run, the page to ask for, the latest change seen so far)."""
    start = (datetime.now(UTC) - FIRST_LOOK_BACK).replace(tzinfo=None, microsecond=0)
    state = {}
    if cursor:
        try:
            state = json.loads(cursor)
        except ValueError:
            state = {"after": cursor}  # a bare time, as someone may set it by hand
    if not isinstance(state, dict):
        state = {}
    after = naive_utc(state.get("after"))
    if after is None:
        if cursor:
            log.warning("unreadable WooCommerce cursor; reading the last %s again",
                        FIRST_LOOK_BACK)
        return start, 1, start
    page = state.get("page")
    page = page if isinstance(page, int) and not isinstance(page, bool) and page > 1 else 1
    seen = naive_utc(state.get("seen")) or after
    return after, page, max(seen, after)
