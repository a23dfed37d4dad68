"""The sandbox supplier's adapter: codboard's side of the demo wholesaler's JSON API.

It reaches the sandbox (blueprints/sandbox/supplier.py) over real HTTP at
config.base_url, e.g. http://127.0.0.1:5000/sandbox/supplier, with
`Authorization: Bearer <api_key>`, exactly as it would a real supplier.
"""

from __future__ import annotations

from urllib.parse import quote

from .base import (
    ACCEPTED,
    CANCELED,
    REJECTED,
    SHIPPED,
    PurchaseOrder,
    StatusQuery,
    Submission,
    SupplierError,
    SupplierReply,
)
from .http import HttpFailure, HttpSupplier, failed, refusal_or_failure

# The sandbox's order statuses, and ours.
OUTCOMES = {"accepted": ACCEPTED, "rejected": REJECTED, "shipped": SHIPPED,
            "canceled": CANCELED}


def order_body(order: PurchaseOrder) -> dict:
    """A purchase order in the sandbox's shape: its SKUs, the customer, how to ship."""
    return {
        "reference": order.reference,
        "customer": {"name": order.customer_name, "phone": order.phone,
                     "address": order.address, "city": order.city, "region": order.region},
        "shipping_method": order.shipping_method,
        "currency": order.currency,
        "lines": [{"sku": line.supplier_sku, "quantity": line.quantity}
                  for line in order.lines],
    }


class SandboxSupplier(HttpSupplier):
    """The built-in sandbox supplier."""

    kind = "sandbox"
    batch_size = 100  # order numbers per status call

    # -- calls out -------------------------------------------------------------
    def submit(self, orders: list[PurchaseOrder]) -> Submission:
        """POST each order with its Idempotency-Key; accepted, refused with why, or FAILED."""
        return Submission(replies=self.submit_each(orders, self._submit_one))

    def _submit_one(self, order: PurchaseOrder) -> SupplierReply:
        """One order's submission and what the sandbox decided."""
        try:
            response = self.call("POST", self.url("/orders"), json=order_body(order),
                                 headers=self.headers({"Idempotency-Key": order.idempotency_key}))
        except HttpFailure as exc:
            if not exc.refuses_order:
                raise  # submit_each makes it FAILED, and stops if every order would fail
            reply = refusal_or_failure(order.supplier_order_id, exc)
            if isinstance(exc.answer, dict):
                # A refused order still has the sandbox's number: it names the refusal.
                reply.supplier_ref = _text(exc.answer.get("number")) or None
                fields = exc.answer.get("fields")
                if isinstance(fields, list) and fields:
                    reply.message = (reply.message.rstrip(".") + ": "
                                     + ", ".join(map(str, fields)))
            return reply
        return self._reply(order.supplier_order_id, self.json_of(response))

    def fetch_status(self, queries: list[StatusQuery]) -> list[SupplierReply]:
        """Every asked order the sandbox has a number for, 100 per call.

        A call that fails raises (SupplierError): the news is asked again next time. An
        order the sandbox does not know comes back FAILED with that said.
        """
        asked = {q.supplier_ref: q for q in queries if q.supplier_ref}
        numbers = list(asked)
        replies: list[SupplierReply] = []
        for start in range(0, len(numbers), self.batch_size):
            batch = numbers[start:start + self.batch_size]
            data = self.json_of(self.call("POST", self.url("/orders/status"),
                                          json={"numbers": batch}, headers=self.headers()))
            orders, unknown = data.get("orders"), data.get("unknown", [])
            if not isinstance(orders, list) or not isinstance(unknown, list):
                raise HttpFailure(f"{self.config.name} sent malformed JSON: no orders list.")
            for item in orders:
                query = asked.get(_text(item.get("number"))) if isinstance(item, dict) else None
                if query is not None:
                    replies.append(self._reply(query.supplier_order_id, item))
            replies += [failed(asked[n].supplier_order_id,
                               f"{self.config.name} does not know order {n}.", supplier_ref=n)
                        for n in unknown if n in asked]
        return replies

    def cancel(self, query: StatusQuery) -> SupplierReply:
        """Cancel an order that has not left; SupplierError with the sandbox's words if shipped."""
        if not query.supplier_ref:
            raise SupplierError(f"{self.config.name} gave no order number for {query.reference}"
                                ": there is nothing its API can cancel.", transient=False)
        url = self.url(f"/orders/{quote(query.supplier_ref, safe='')}/cancel")
        data = self.json_of(self.call("POST", url, headers=self.headers()))
        return self._reply(query.supplier_order_id, data)

    # -- reading answers ---------------------------------------------------------
    def _reply(self, supplier_order_id: int, data: dict) -> SupplierReply:
        """An order as the sandbox shows it, as our reply; FAILED when it is not readable."""
        number, status = _text(data.get("number")), _text(data.get("status"))
        if not number:
            return failed(supplier_order_id, f"{self.config.name} sent malformed JSON: "
                                             "an order without a number.")
        outcome = OUTCOMES.get(status)
        if outcome is None:
            return failed(supplier_order_id, f"{self.config.name}: unknown status “{status}”.",
                          supplier_ref=number)
        return SupplierReply(
            supplier_order_id=supplier_order_id, outcome=outcome, supplier_ref=number,
            message=_text(data.get("error")) if outcome == REJECTED else "",
            tracking_number=_text(data.get("tracking_number")) or None,
            carrier=_text(data.get("carrier")) or None)


def _text(value) -> str:
    """A JSON scalar as stripped text ("" for null, lists and objects)."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()
