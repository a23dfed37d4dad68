"""A supplier with a JSON API that the manager describes entirely in settings.

Nothing is hard-coded: `config.settings` (shown and edited as JSON text, checked by
`check_settings`) says where to send orders, how to name our fields in their body,
where their answers keep what we need, and what their statuses mean. Paths are
dotted paths into JSON ("data.order.id", "items.0.status"; see workers/carriers/jsonpath.py).

  submit_path   POST, relative to config.base_url or absolute ("https://..."). Header
                Idempotency-Key = the order's key, so a retry never makes a second order.
  status_path   GET template: {ref} = their order id, {key} = our idempotency key
                (URL-encoded). Empty: the supplier is never asked (fetch_status gives []).
  cancel_path   POST template, same placeholders. Empty: cancellations are by phone.
  fields        our field -> where it goes in their body. Order fields: reference,
                idempotency_key, customer_name, phone, address, city, region,
                shipping_method, currency, note, and lines (where the list of lines goes);
                each line's: line.supplier_sku, line.sku, line.name, line.quantity and
                line.unit_cost (a decimal amount as text, "12.50"), relative to one line.
                A field left out is not sent.
  reply         where their answers keep supplier_ref, status, message,
                tracking_number and carrier.
  statuses      their status value -> accepted, rejected, submitted, shipped or canceled
                (compared without regard to case). An unmapped value is never guessed:
                that order's reply is FAILED, saying to map it here.

Answers: a 2xx to a submit is read with `reply` (no status there: accepted when it
names their order, else submitted; an empty body: submitted); a 409 that shows an order
is the order they already have; another 4xx with a readable reason is a refusal of the
order (REJECTED with their words), except 401/403 (our key) and 404/405 (our path),
which are FAILED until the settings are fixed, as are timeouts, 429, 5xx and answers
that are not JSON. The API key goes as `Authorization: Bearer <api_key>`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import quote

from flask_babel import gettext as _

from workers.carriers.jsonpath import MISSING, text_at

from .base import (
    ACCEPTED,
    CANCELED,
    REJECTED,
    SHIPPED,
    SUBMITTED,
    CannotCancel,
    PurchaseLine,
    PurchaseOrder,
    StatusQuery,
    Submission,
    SupplierError,
    SupplierReply,
)
from .http import HttpFailure, HttpSupplier, decoded, failed, words_of

ORDER_FIELDS = ("reference", "idempotency_key", "customer_name", "phone", "address", "city",
                "region", "shipping_method", "currency", "note", "lines")
LINE_FIELDS = ("line.supplier_sku", "line.sku", "line.name", "line.quantity",
               "line.unit_cost")
REPLY_FIELDS = ("supplier_ref", "status", "message", "tracking_number", "carrier")
SETTINGS_KEYS = ("submit_path", "status_path", "cancel_path", "fields", "reply", "statuses")
MAPPABLE = (ACCEPTED, REJECTED, SUBMITTED, SHIPPED, CANCELED)
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

DEFAULT_SETTINGS = {
    "submit_path": "/orders",
    "status_path": "/orders/{ref}",
    "cancel_path": "/orders/{ref}/cancel",
    "fields": {
        "reference": "external_reference",
        "customer_name": "shipping_address.name",
        "phone": "shipping_address.phone",
        "address": "shipping_address.address1",
        "city": "shipping_address.city",
        "region": "shipping_address.province",
        "shipping_method": "shipping_method",
        "currency": "currency",
        "lines": "items",
        "line.supplier_sku": "sku",
        "line.quantity": "quantity",
        "line.unit_cost": "price",
    },
    "reply": {
        "supplier_ref": "id",
        "status": "status",
        "message": "message",
        "tracking_number": "tracking_number",
        "carrier": "carrier",
    },
    "statuses": {
        "pending": "submitted",
        "confirmed": "accepted",
        "processing": "accepted",
        "shipped": "shipped",
        "rejected": "rejected",
        "cancelled": "canceled",
    },
}


# -- checking settings -------------------------------------------------------------------
def check_settings(settings) -> list[str]:
    """What is wrong with these settings, in words a manager can act on ([] when fine)."""
    if not isinstance(settings, dict):
        return [_("The settings must be a JSON object, like the example.")]
    problems = [_("Unknown setting “%(key)s”: the settings are %(known)s.", key=key,
                  known=", ".join(SETTINGS_KEYS))
                for key in settings if key not in SETTINGS_KEYS]
    problems += _check_paths(settings)
    fields = settings.get("fields", {})
    if not isinstance(fields, dict):
        problems.append(_("fields must be an object: our field -> where it goes in their "
                          "body."))
    else:
        problems += _check_fields(fields)
    reply = settings.get("reply", {})
    if not isinstance(reply, dict):
        problems.append(_("reply must be an object: what we read -> where their answer has "
                          "it."))
    else:
        problems += [_("reply: unknown field “%(key)s”; it reads %(known)s.", key=key,
                       known=", ".join(REPLY_FIELDS))
                     for key in reply if key not in REPLY_FIELDS]
        problems += [_("reply.%(key)s: “%(path)s” is not a dotted path like “data.id”.",
                       key=key, path=path)
                     for key, path in reply.items()
                     if key in REPLY_FIELDS and not _is_path(path, allow_empty=True)]
        if str(settings.get("status_path") or "").strip() and not reply.get("status"):
            problems.append(_("status_path is set but reply.status is not: their status "
                              "answers could not be read."))
    problems += _check_statuses(settings.get("statuses", {}))
    return problems


def _check_paths(settings: dict) -> list[str]:
    """Problems with submit_path, status_path and cancel_path."""
    problems = []
    submit = settings.get("submit_path")
    if not isinstance(submit, str) or not submit.strip():
        problems.append(_("submit_path is required: where orders are POSTed, e.g. "
                          "“/orders”."))
    elif "{" in submit:
        problems.append(_("submit_path takes no {placeholders}: there is no order id yet."))
    for key in ("status_path", "cancel_path"):
        value = settings.get(key, "")
        if not isinstance(value, str):
            problems.append(_("%(key)s must be text, e.g. “/orders/{ref}”, or empty.",
                              key=key))
            continue
        problems += [_("%(key)s: unknown placeholder {%(name)s}; use {ref} (their order id) "
                       "or {key} (our idempotency key).", key=key, name=name)
                     for name in PLACEHOLDER.findall(value) if name not in ("ref", "key")]
    return problems


def _check_fields(fields: dict) -> list[str]:
    """Problems with the fields mapping: unknown fields, bad or clashing paths, no lines."""
    known = ORDER_FIELDS + LINE_FIELDS
    problems = [_("fields: unknown field “%(key)s”; ours are %(known)s.", key=key,
                  known=", ".join(known))
                for key in fields if key not in known]
    problems += [_("fields.%(key)s: “%(path)s” is not a dotted path like “customer.name”.",
                   key=key, path=path)
                 for key, path in fields.items() if key in known and not _is_path(path)]
    for group in (ORDER_FIELDS, LINE_FIELDS):
        paths = {key: str(path) for key, path in fields.items()
                 if key in group and _is_path(path) and path}
        problems += _clashes(paths)
    if not fields.get("lines"):
        problems.append(_("fields.lines is required: where the list of lines goes, e.g. "
                          "“items”."))
    if not fields.get("line.quantity"):
        problems.append(_("fields.line.quantity is required: where a line's quantity goes."))
    if not fields.get("line.supplier_sku") and not fields.get("line.sku"):
        problems.append(_("fields.line.supplier_sku (their SKU) or fields.line.sku (ours) is "
                          "required: how they know the product."))
    return problems


def _clashes(paths: dict[str, str]) -> list[str]:
    """Two fields sent at the same place, or one inside the other's value."""
    problems = []
    items = sorted(paths.items())
    for i, (key, path) in enumerate(items):
        for other, other_path in items[i + 1:]:
            if path == other_path or other_path.startswith(path + ".") or path.startswith(
                    other_path + "."):
                problems.append(_("fields: %(key)s (“%(path)s”) and %(other)s "
                                  "(“%(other_path)s”) would overwrite each other.", key=key,
                                  path=path, other=other, other_path=other_path))
    return problems


def _check_statuses(statuses) -> list[str]:
    """Problems with the status table."""
    if not isinstance(statuses, dict):
        return [_("statuses must be an object: their status -> one of %(known)s.",
                  known=", ".join(MAPPABLE))]
    problems = [_("statuses: “%(raw)s” is mapped to “%(ours)s”, which is not one of "
                  "%(known)s.", raw=raw, ours=ours, known=", ".join(MAPPABLE))
                for raw, ours in statuses.items()
                if not isinstance(ours, str) or ours.strip().lower() not in MAPPABLE]
    seen: dict[str, str] = {}
    for raw, ours in statuses.items():
        folded = raw.strip().casefold()
        if folded in seen and seen[folded] != str(ours).strip().lower():
            problems.append(_("statuses: “%(raw)s” is mapped twice, to different statuses "
                              "(case does not count).", raw=raw))
        seen[folded] = str(ours).strip().lower()
    return problems


def _is_path(path, *, allow_empty: bool = True) -> bool:
    """Whether `path` is a dotted path ("a.b"); "" when allowed means not used."""
    if not isinstance(path, str):
        return False
    if not path.strip():
        return allow_empty
    return all(part.strip() == part and part for part in path.split("."))


# -- building the body ---------------------------------------------------------------------
def _put(document: dict, path: str, value, where: str) -> None:
    """Set `value` at dotted `path`, making the objects on the way."""
    *parents, last = path.split(".")
    for part in parents:
        document = document.setdefault(part, {})
        if not isinstance(document, dict):
            raise SupplierError(f"Settings: {where} paths overwrite each other at “{path}”.",
                                transient=False)
    document[last] = value


def _decimal(cents: int) -> str:
    """Cents as a decimal amount with 2 decimals: 1250 -> "12.50"."""
    return str((Decimal(int(cents)) / 100).quantize(Decimal("0.01")))


def _line_values(line: PurchaseLine) -> dict:
    """A line's values by our field name."""
    return {"line.supplier_sku": line.supplier_sku, "line.sku": line.sku,
            "line.name": line.name, "line.quantity": line.quantity,
            "line.unit_cost": _decimal(line.unit_cost_cents)}


def _order_values(order: PurchaseOrder) -> dict:
    """An order's values by our field name (lines apart)."""
    return {"reference": order.reference, "idempotency_key": order.idempotency_key,
            "customer_name": order.customer_name, "phone": order.phone,
            "address": order.address, "city": order.city, "region": order.region,
            "shipping_method": order.shipping_method, "currency": order.currency,
            "note": order.note}


class HttpJsonSupplier(HttpSupplier):
    """A supplier whose JSON API the manager describes in settings."""

    kind = "http_json"

    @property
    def settings(self) -> dict:
        """The supplier's settings (an empty object when unset)."""
        return self.config.settings if isinstance(self.config.settings, dict) else {}

    def _text_setting(self, key: str) -> str:
        """A top-level text setting, stripped ("" when unset)."""
        value = self.settings.get(key)
        return value.strip() if isinstance(value, str) else ""

    def _mapping(self, key: str) -> dict:
        """An object setting (fields, reply, statuses), {} when unset or not an object."""
        value = self.settings.get(key)
        return value if isinstance(value, dict) else {}

    def _reply_paths(self) -> dict[str, str]:
        """Where their answers keep each reply field ("" when not set or not a path)."""
        paths = self._mapping("reply")
        return {name: paths[name].strip() if isinstance(paths.get(name), str) else ""
                for name in REPLY_FIELDS}

    # -- calls out -------------------------------------------------------------
    def body(self, order: PurchaseOrder) -> dict:
        """The order in their shape, as `fields` says."""
        fields = {k: v.strip() for k, v in self._mapping("fields").items()
                  if isinstance(v, str) and v.strip()}
        body: dict = {}
        for name, value in _order_values(order).items():
            if name in fields:
                _put(body, fields[name], value, "fields")
        if "lines" in fields:
            lines = []
            for line in order.lines:
                item: dict = {}
                for name, value in _line_values(line).items():
                    if name in fields:
                        _put(item, fields[name], value, "line")
                lines.append(item)
            _put(body, fields["lines"], lines, "fields")
        return body

    def submit(self, orders: list[PurchaseOrder]) -> Submission:
        """POST each order with its Idempotency-Key; one reply per order, never a raise."""
        return Submission(replies=self.submit_each(orders, self._submit_one))

    def _submit_one(self, order: PurchaseOrder) -> SupplierReply:
        """One order's submission and how their answer reads."""
        path = self._text_setting("submit_path")
        if not path:
            raise SupplierError(f"{self.config.name}: set submit_path in its settings to send "
                                "orders.", transient=False)
        response = self.call("POST", self.url(path), json=self.body(order), accept=(409,),
                             headers=self.headers({"Idempotency-Key": order.idempotency_key}))
        answer = decoded(response)
        if response.status_code == 409:
            return self._conflict(order, response, answer)
        if answer is MISSING:
            if response.content.strip():
                raise HttpFailure(f"{self.config.name} sent malformed JSON "
                                  f"(HTTP {response.status_code}).", status=response.status_code)
            # A bare 2xx: they have it, and said nothing more.
            return SupplierReply(supplier_order_id=order.supplier_order_id, outcome=SUBMITTED)
        return self._reply(order.supplier_order_id, answer, "submit")

    def _conflict(self, order: PurchaseOrder, response, answer) -> SupplierReply:
        """A 409: the order they already have when it shows one, else their refusal."""
        paths = self._reply_paths()
        if answer is not MISSING and (text_at(answer, paths["supplier_ref"])
                                      or text_at(answer, paths["status"])):
            return self._reply(order.supplier_order_id, answer, "submit")
        words = words_of(response, answer)
        if words:
            return SupplierReply(supplier_order_id=order.supplier_order_id, outcome=REJECTED,
                                 message=words)
        return failed(order.supplier_order_id,
                      f"{self.config.name} answered HTTP 409 without saying why.")

    def fetch_status(self, queries: list[StatusQuery]) -> list[SupplierReply]:
        """GET each order at status_path; [] when it is empty.

        An order they cannot show (404, a malformed or unmapped answer) comes back FAILED
        with the reason; a failure every order would meet (no answer, key refused, rate
        limited, 5xx) raises, and the news is asked again next time.
        """
        template = self._text_setting("status_path")
        if not template:
            return []
        replies = []
        for query in queries:
            path = self._fill(template, query)
            if path is None:
                continue  # no order id of theirs yet: resubmitting is how we learn it
            try:
                answer = self.json_of(self.call("GET", self.url(path), headers=self.headers()),
                                      (dict, list))
            except HttpFailure as exc:
                if exc.whole_call or (exc.status or 0) >= 500:
                    raise
                replies.append(failed(query.supplier_order_id, exc.message,
                                      supplier_ref=query.supplier_ref))
                continue
            replies.append(self._reply(query.supplier_order_id, answer, "status"))
        return replies

    def cancel(self, query: StatusQuery) -> SupplierReply:
        """POST to cancel_path; CannotCancel when it is empty, SupplierError when refused."""
        template = self._text_setting("cancel_path")
        if not template:
            raise CannotCancel(f"{self.config.name} has no cancel_path in its settings: cancel "
                               "with them by phone or e-mail.")
        path = self._fill(template, query)
        if path is None:
            raise SupplierError(f"{self.config.name} gave no order id for {query.reference}: "
                                "cancel_path needs one ({ref}).", transient=False)
        response = self.call("POST", self.url(path), headers=self.headers())
        answer = decoded(response)
        if answer is MISSING:
            return SupplierReply(supplier_order_id=query.supplier_order_id, outcome=CANCELED,
                                 supplier_ref=query.supplier_ref)
        return self._reply(query.supplier_order_id, answer, "cancel")

    # -- reading answers ---------------------------------------------------------
    def _fill(self, template: str, query: StatusQuery) -> str | None:
        """A path template with {ref} and {key} filled in; None when {ref} is unknown."""
        if "{ref}" in template and not query.supplier_ref:
            return None
        return (template.replace("{ref}", quote(query.supplier_ref or "", safe=""))
                .replace("{key}", quote(query.idempotency_key, safe="")))

    def _statuses(self) -> dict[str, str]:
        """Their status, folded -> ours."""
        return {str(raw).strip().casefold(): str(ours).strip().lower()
                for raw, ours in self._mapping("statuses").items()}

    def _reply(self, supplier_order_id: int, answer, call: str) -> SupplierReply:
        """Their answer read with `reply` and `statuses`, after a submit, status or cancel call.

        Without a status: a submit is accepted when the answer names their order (else
        submitted), a cancel is canceled, a status answer is FAILED (nothing to read).
        """
        paths = self._reply_paths()
        ref = text_at(answer, paths["supplier_ref"]) or None
        raw = text_at(answer, paths["status"])
        if raw:
            outcome = self._statuses().get(raw.casefold())
            if outcome not in MAPPABLE:
                return failed(supplier_order_id, f"unknown status “{raw}”; map it in the "
                                                 "supplier's settings", supplier_ref=ref)
        elif call == "submit":
            outcome = ACCEPTED if ref else SUBMITTED
        elif call == "cancel":
            outcome = CANCELED
        else:
            where = paths["status"] or "(reply.status is not set)"
            return failed(supplier_order_id, f"{self.config.name} answered without a status "
                                             f"at “{where}”.", supplier_ref=ref)
        return SupplierReply(
            supplier_order_id=supplier_order_id, outcome=outcome, supplier_ref=ref,
            message=text_at(answer, paths["message"]),
            tracking_number=text_at(answer, paths["tracking_number"]) or None,
            carrier=text_at(answer, paths["carrier"]) or None)
