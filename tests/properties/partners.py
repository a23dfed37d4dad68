"""The outside parties the stateful test plays over real HTTP: a courier that registers
parcels once per Idempotency-Key, and the signed webhooks a courier and a shop send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.channel_support import SECRET as SHOP_SECRET
from tests.channel_support import shopify_order
from tests.workers.carriers.peer import Peer, Reply, Seen
from tests.workers.carriers.test_http_json import SECRET as COURIER_SECRET
from tests.workers.carriers.test_http_json import SETTINGS as COURIER_SETTINGS
from tests.workers.carriers.test_http_json import STATUS_MAP

__all__ = ["COURIER_SECRET", "COURIER_SETTINGS", "STATUS_MAP", "CourierPeer",
           "courier_webhook", "shop_webhook"]

# Raw courier codes by the status they map to (the manager's table in STATUS_MAP).
RAW = {status: raw for raw, status in STATUS_MAP.items()}


class CourierPeer(Peer):
    """A courier's API: POST /api/v1/parcels makes one parcel per Idempotency-Key (a repeat
    gets the same tracking number back); anything else is scripted or 404."""

    def __init__(self):
        """No parcel made yet."""
        super().__init__()
        self.parcels: dict[str, str] = {}  # idempotency key -> tracking number

    def _next(self, seen: Seen) -> Reply:
        """Register parcels as a courier does; other routes as scripted."""
        if (seen.method, seen.path) != ("POST", "/api/v1/parcels"):
            return super()._next(seen)
        with self._lock:
            self._seen.append(seen)
            key = seen.headers.get("Idempotency-Key", "")
            number = self.parcels.setdefault(key, f"RPD-{len(self.parcels) + 1:05d}")
        return Reply(201, json={"data": {"tracking_number": number,
                                         "label_url": f"https://labels.test/{number}.pdf"}})

    @property
    def registrations(self) -> int:
        """Distinct parcels the courier made."""
        return len(self.parcels)


def courier_webhook(tracking: str, events: list[dict], delivery: str) -> tuple[bytes, dict]:
    """A courier webhook body for one parcel and its hex HMAC headers."""
    body = json.dumps({"parcel": {"code": tracking}, "data": {"history": events}}).encode()
    signature = hmac.new(COURIER_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Rapido-Signature": signature, "X-Rapido-Delivery": delivery,
                  "Content-Type": "application/json"}


def shop_webhook(order_id: int, topic: str, delivery: str,
                 skus: tuple[str, ...] = ("CAF-BRD-M", "SAV-NOIR-200"),
                 **changes) -> tuple[bytes, dict]:
    """A Shopify orders/create or orders/cancelled body and its headers: the fixture's line
    of each SKU, or a copy of its first line under another SKU."""
    order = shopify_order(order_id, **changes)
    lines = {item["sku"]: item for item in order["line_items"]}
    first = order["line_items"][0]
    order["line_items"] = [lines.get(sku) or {**first, "sku": sku, "id": first["id"] + n}
                           for n, sku in enumerate(skus, start=1)]
    body = json.dumps(order).encode()
    signature = base64.b64encode(
        hmac.new(SHOP_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {"X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": delivery,
                  "X-Shopify-Event-Id": delivery, "X-Shopify-Topic": topic,
                  "X-Shopify-Shop-Domain": "boutique.myshopify.com",
                  "Content-Type": "application/json"}
