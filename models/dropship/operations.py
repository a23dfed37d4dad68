"""The supplier orders' one door: every move of a supplier order goes through `move`.

`move` checks the transition table and the actor, writes the change guarded by the row's
version (two operators or a retried job cannot both make the same move) and one audit
event per line, so each SKU has its own trail. Operations flush; the caller commits.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm.exc import StaleDataError

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import begin_outer_transaction, db, utcnow
from models.catalog.products import Supplier
from models.catalog.sales import Channel
from models.errors import Conflict, InvalidInput, NotAllowed, TransitionRefused
from models.orders.tables import Order
from models.status import (
    EDITABLE_SUPPLIER,
    SUPPLIER_INFO,
    Party,
    SupplierStatus,
    supplier_parties,
)

from .checks import problems
from .mappings import shipping_mappings, shipping_method, sku_map
from .tables import SupplierOrder, SupplierOrderLine

S = SupplierStatus
PROCESS_MODES = {
    "off": _l("Off: an operator presses Process"),
    "managed": _l("Managed: submitted when every line is mapped and valid"),
    "always": _l("Always: submitted; whatever fails lands in error for Resolve"),
}
_PARTY_NAMES = {Party.OPERATOR: _l("an operator"), Party.SUPPLIER: _l("the supplier"),
                Party.SYSTEM: _l("the system"), Party.MANAGER: _l("a manager")}


def _events(so: SupplierOrder, actor: Actor, src: str | None, dst: str | None, note: str,
            now: datetime) -> list[dict]:
    """One audit row per line of the supplier order (the per-SKU trail reads them)."""
    rows = []
    for line in so.lines:
        row = audit_row(so.order_id, actor, "supplier", src, dst, note[:1000], now)
        row.update(order_line_id=line.order_line_id, sku=line.sku)
        rows.append(row)
    return rows


def trail(so: SupplierOrder, actor: Actor, note: str, now: datetime | None = None,
          src: str | None = None, dst: str | None = None) -> None:
    """Record something that happened to a supplier order without a status move."""
    rows = _events(so, actor, src, dst, note, now or utcnow())
    if rows:
        db.session.execute(insert(AuditEvent.__table__), rows)


def move(so: SupplierOrder, to: str, actor: Actor, *, note: str = "",
         expected_version: int | None = None, now: datetime | None = None,
         **values) -> None:
    """The one writer of a supplier order's status: table, actor, version, audit."""
    now = now or utcnow()
    if expected_version is not None and int(expected_version) != so.version:
        raise Conflict(_("Supplier order %(reference)s was changed by someone else since "
                         "you opened it (reload to see what changed); nothing was saved.",
                         reference=so.reference))
    src, dst = S(so.status), S(to)
    allowed = supplier_parties(src, dst)
    if not allowed:
        raise TransitionRefused(_("Supplier order %(reference)s is %(status)s; it cannot "
                                  "become %(target)s.", reference=so.reference,
                                  status=SUPPLIER_INFO[src].label,
                                  target=SUPPLIER_INFO[dst].label))
    if not allowed & actor.parties:
        who = _either(sorted(str(_PARTY_NAMES.get(p, p.value)) for p in allowed))
        raise NotAllowed(_("Only %(who)s can mark supplier order %(reference)s %(target)s.",
                           who=who, reference=so.reference, target=SUPPLIER_INFO[dst].label))
    # A conflict undoes this move only, never the caller's other work (a status file's
    # earlier rows, a sync's earlier replies): the version is checked before anything of
    # this row is written, and the move itself is written in a savepoint. (The check
    # reads before the transaction opens: on SQLite a read inside it would make the
    # write that follows fail at once, instead of waiting, when another writer is busy.)
    with db.session.no_autoflush:
        current = db.session.scalar(select(SupplierOrder.version)
                                    .where(SupplierOrder.id == so.id))
    if current != so.version:
        db.session.expire(so)  # drop what was set on the stale copy
        raise _changed(so)
    begin_outer_transaction()
    try:
        with db.session.begin_nested():
            so.status = dst.value
            for name, value in values.items():
                setattr(so, name, value)
            if dst != S.ERROR:
                so.error, so.error_source = "", ""
            so.updated_at = now
            db.session.flush()
    except StaleDataError:
        raise _changed(so) from None
    trail(so, actor, note, now, src.value, dst.value)


def _either(names: list[str]) -> str:
    """Parties named as alternatives: "an operator or the system"."""
    who = names[0] if names else ""
    for name in names[1:]:
        who = _("%(one)s or %(other)s", one=who, other=name)
    return who


def _changed(so: SupplierOrder) -> Conflict:
    """The refusal of a move on a supplier order someone changed meanwhile."""
    return Conflict(_("Supplier order %(reference)s was changed meanwhile; nothing was saved.",
                      reference=so.reference))


def lines_of(so: SupplierOrder) -> list[SupplierOrderLine]:
    """The supplier order's lines (loaded with it)."""
    return list(so.lines)


def check(so: SupplierOrder) -> list[str]:
    """What stops this supplier order from being submitted now (empty: nothing)."""
    return problems(so, so.lines, so.supplier.name, _region())


def _region() -> str:
    """Where phone numbers without a country code are read (the call center's setting)."""
    from models.settings import CallSettings

    return CallSettings.load().phone_region


# ---- the split -------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """The order's columns a supplier order copies."""

    id: int
    channel_id: int
    customer_name: str
    phone: str
    address: str
    city: str
    region: str
    shipping_method: str


def split_order(order_id: int, lines, actor: Actor, now: datetime | None = None) -> list[int]:
    """One pending supplier order per supplier of the order's dropship lines (once).

    Called when the order is confirmed, in the same transaction: a COD order's supplier
    orders never exist before. `lines` are the order's lines (ORM objects or rows with id,
    sku, name, quantity, product_id, supplier_id). Returns the ids the channel's
    auto-process setting queued for submission.
    """
    dropship = [line for line in lines if line.supplier_id is not None]
    if not dropship:
        return []
    now = now or utcnow()
    done = set(db.session.scalars(select(SupplierOrder.supplier_id)
                                  .where(SupplierOrder.order_id == order_id)))
    dropship = [line for line in dropship if line.supplier_id not in done]
    if not dropship:
        return []
    target = _Target(*db.session.execute(select(
        Order.id, Order.channel_id, Order.customer_name, Order.phone, Order.address,
        Order.city, Order.region, Order.shipping_method).where(Order.id == order_id)).one())
    supplier_ids = {line.supplier_id for line in dropship}
    suppliers = {s.id: s for s in db.session.scalars(
        select(Supplier).where(Supplier.id.in_(supplier_ids)))}
    skus = sku_map(supplier_ids, {line.product_id for line in dropship if line.product_id})
    methods = shipping_mappings(supplier_ids)
    mode = db.session.scalar(select(Channel.dropship_process)
                             .where(Channel.id == target.channel_id)) or "off"
    queued = []
    for supplier_id in sorted(supplier_ids):
        supplier = suppliers[supplier_id]
        mine = [line for line in dropship if line.supplier_id == supplier_id]
        so = _new_supplier_order(target, supplier, mine, skus, methods, now)
        notes = "; ".join(
            f"{line.sku} → {line.supplier_sku} ×{line.quantity}" if line.supplier_sku
            else f"{line.sku} not mapped" for line in so.lines)
        trail(so, actor, f"split to {supplier.name}: {notes}", now, None, S.PENDING.value)
        if mode == "always" or (mode == "managed" and not check(so)):
            _queue(so, Actor.system("auto-process"), None, now)
            queued.append(so.id)
    return queued


def _new_supplier_order(target: _Target, supplier: Supplier, lines, skus, methods,
                        now: datetime) -> SupplierOrder:
    """Insert one supplier order with its lines, mapped as the mappings stand now."""
    so = SupplierOrder(
        order_id=target.id, supplier_id=supplier.id, channel_id=target.channel_id,
        status=S.PENDING.value, idempotency_key=f"cbs-{uuid.uuid4().hex}",
        customer_name=target.customer_name, phone=target.phone, address=target.address,
        city=target.city, region=target.region,
        shipping_method=shipping_method(supplier, target.shipping_method, methods),
        created_at=now, updated_at=now)
    so.supplier = supplier
    cost = 0
    for line in lines:
        mapping = skus.get((supplier.id, line.product_id))
        unit = mapping.cost_cents if mapping else 0
        so.lines.append(SupplierOrderLine(
            order_line_id=line.id, sku=line.sku, name=line.name, quantity=line.quantity,
            supplier_sku=mapping.supplier_sku if mapping else "", unit_cost_cents=unit))
        cost += unit * line.quantity
    so.cost_cents = cost
    db.session.add(so)
    db.session.flush()
    return so


# ---- Process ----------------------------------------------------------------------


def _queue(so: SupplierOrder, actor: Actor, batch: str | None, now: datetime) -> None:
    """Mark a pending supplier order for its supplier's job to submit."""
    so.process_requested_at = now
    so.process_requested_by_id = actor.user_id
    so.batch = batch
    # shown translated: models/stored_text.py
    trail(so, actor, "Process requested", now)


def request_processing(orders: list[SupplierOrder], actor: Actor,
                       batch: str | None = None) -> dict[int, str]:
    """Queue pending supplier orders for submission; per id, "queued" or why not (in the
    reader's words: only "queued" is compared)."""
    if not actor.parties & {Party.OPERATOR, Party.SYSTEM}:
        raise NotAllowed(_("Only an operator can process supplier orders."))
    now = utcnow()
    result = {}
    for so in orders:
        if so.status == S.ERROR:
            result[so.id] = _("in error: Resolve it first (%(error)s)", error=so.error)
        elif so.status != S.PENDING:
            result[so.id] = _("already %(status)s",
                              status=SUPPLIER_INFO[so.status].label.lower())
        elif so.process_requested_at is not None:
            result[so.id] = _("already queued")
        else:
            _queue(so, actor, batch, now)
            result[so.id] = "queued"
    db.session.flush()
    return result


def _requester(so: SupplierOrder) -> Actor:
    """Who the submission is recorded for: the operator who pressed Process, else the system."""
    if so.process_requested_by_id is None:
        return Actor.system("auto-process")
    from models.user import User

    user = db.session.get(User, so.process_requested_by_id)
    if user is None:
        return Actor.system("auto-process")
    return Actor(name=user.username, parties=frozenset({Party.OPERATOR}), user_id=user.id)


def take_for_submission(supplier_id: int, *, limit: int = 200,
                        now: datetime | None = None) -> tuple[list[SupplierOrder], int]:
    """Move this supplier's queued orders to submitted (or to error when a check fails).

    Each row moves pending → submitted through the door, version-guarded: a second job
    (or a second click) that read the same rows takes none of them (on PostgreSQL it
    skips the rows another taker holds). Returns the submitted orders to send and the
    number that went to error. The caller commits before calling the supplier.
    """
    now = now or utcnow()
    due = db.session.scalars(
        select(SupplierOrder).where(SupplierOrder.supplier_id == supplier_id,
                                    SupplierOrder.status == S.PENDING,
                                    SupplierOrder.process_requested_at.is_not(None))
        .order_by(SupplierOrder.process_requested_at, SupplierOrder.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    send, failed = [], 0
    for so in due:
        found = check(so)
        try:
            if found:
                move(so, S.ERROR, Actor.system("check"), note="; ".join(found), now=now,
                     error="; ".join(found)[:500], error_source="check",
                     process_requested_at=None)
                failed += 1
                continue
            # A new request: nothing the supplier said about an earlier one (refused,
            # then resolved) may pass for its answer, and an unanswered one is resent.
            # shown translated: models/stored_text.py
            move(so, S.SUBMITTED, _requester(so), note=f"submitted to {so.supplier.name}",
                 now=now, submitted_at=now, attempts=so.attempts + 1,
                 process_requested_at=None, answered_at=None, supplier_ref=None,
                 last_error="")
        except Conflict:
            # Another taker moved this row after this one read it: the door undid that
            # move only. The rows taken so far are this job's to send; the other job
            # sends its own, and the rest wait for the next run.
            return send, failed
        send.append(so)
    return send, failed


def unanswered(supplier_id: int, older_than: datetime, limit: int = 200) -> list[SupplierOrder]:
    """Submitted orders whose sending failed: sent again with the same key."""
    return list(db.session.scalars(
        select(SupplierOrder).where(SupplierOrder.supplier_id == supplier_id,
                                    SupplierOrder.status == S.SUBMITTED,
                                    SupplierOrder.answered_at.is_(None),
                                    SupplierOrder.submitted_at <= older_than)
        .order_by(SupplierOrder.submitted_at, SupplierOrder.id).limit(limit)))


# ---- Resolve and edit ---------------------------------------------------------------


@dataclass
class Fix:
    """What an operator changed in the Resolve form (None: left as it was)."""

    customer_name: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    shipping_method: str | None = None
    quantities: dict[int, int] | None = None  # supplier order line id → quantity
    skus: dict[int, str] | None = None  # supplier order line id → supplier SKU
    remember: bool = False  # save a remapped SKU as the product's mapping too


def resolve(so: SupplierOrder, actor: Actor, fix: Fix, *, expected_version: int | None = None,
            process: bool = False) -> list[str]:
    """Correct a supplier order in error (or pending, before submission) and maybe process it.

    Validates everything first (InvalidInput names the field, nothing is saved), records
    each change in the trail, moves an order in error back to pending, and with `process`
    queues it. Returns the changes made, for the confirmation message.
    """
    if not actor.acts_as(Party.OPERATOR):
        raise NotAllowed(_("Only an operator can change a supplier order."))
    if expected_version is not None and int(expected_version) != so.version:
        raise Conflict(_("Supplier order %(reference)s was changed by someone else since "
                         "you opened it (reload to see what changed); nothing was saved.",
                         reference=so.reference))
    if so.status not in EDITABLE_SUPPLIER:
        raise TransitionRefused(_("Supplier order %(reference)s is %(status)s; its details "
                                  "are locked.", reference=so.reference,
                                  status=SUPPLIER_INFO[so.status].label))
    if so.status == S.PENDING and not so.supplier.edit_before_submit:
        raise TransitionRefused(_("%(supplier)s takes no changes before submission.",
                                  supplier=so.supplier.name))
    changes = _apply(so, fix, actor)
    now = utcnow()
    if changes:
        # The trail keeps the stored English note; the operator reads their language.
        trail(so, actor, "; ".join(note for note, _said in changes), now)
    if so.status == S.ERROR:
        values = {}
        if so.error_source == "supplier":
            # The supplier refused the request made with the old key and would answer a
            # repeat of it with the same refusal: the corrected order is a new request.
            values["idempotency_key"] = f"cbs-{uuid.uuid4().hex}"
        # shown translated: models/stored_text.py
        move(so, S.PENDING, actor, note="resolved", now=now, **values)
    else:
        db.session.flush()
    if process:
        request_processing([so], actor)
    return [said for _note, said in changes]


# The Resolve form's fields as the confirmation names them.
_FIELD_NAMES = {"customer_name": _l("customer name"), "phone": _l("phone"),
                "address": _l("address"), "city": _l("city"),
                "shipping_method": _l("shipping method")}


def _apply(so: SupplierOrder, fix: Fix, actor: Actor) -> list[tuple[str, str]]:
    """Check then apply the fix; each change as (trail note, the same in the reader's words)."""
    from models.phones import normalize_phone

    errors = {}
    values = {}
    for name in ("customer_name", "phone", "address", "city", "shipping_method"):
        value = getattr(fix, name)
        if value is None:
            continue
        value = value.strip()
        limit = SupplierOrder.__table__.c[name].type.length
        if len(value) > limit:
            errors[name] = _("At most %(limit)s characters.", limit=limit)
        elif name == "phone" and not normalize_phone(value, _region()):
            errors[name] = _("“%(phone)s” is not a phone number.", phone=value)
        elif name in ("customer_name", "city", "shipping_method") and not value:
            errors[name] = _("Required.")
        elif name == "address" and len(value) < 8:
            errors[name] = _("Too short to deliver to.")
        values[name] = value
    lines = {line.id: line for line in so.lines}
    for line_id, quantity in (fix.quantities or {}).items():
        if line_id not in lines:
            errors[f"quantity-{line_id}"] = _("Not a line of this supplier order.")
        elif not 1 <= quantity <= 999:
            errors[f"quantity-{line_id}"] = _("Between 1 and 999.")
    for line_id, sku in (fix.skus or {}).items():
        if line_id not in lines:
            errors[f"sku-{line_id}"] = _("Not a line of this supplier order.")
        elif not sku.strip() or len(sku.strip()) > 64:
            errors[f"sku-{line_id}"] = _("A supplier SKU (1 to 64 characters).")
    if errors:
        raise FieldErrors(errors)
    changes = []
    for name, value in values.items():
        if value != getattr(so, name):
            old = getattr(so, name)
            changes.append((f"{name.replace('_', ' ')}: “{old}” → “{value}”",
                            _("%(field)s: “%(old)s” → “%(new)s”", field=_FIELD_NAMES[name],
                              old=old, new=value)))
            setattr(so, name, value)
    for line_id, quantity in (fix.quantities or {}).items():
        line = lines[line_id]
        if quantity != line.quantity:
            changes.append((f"quantity of {line.sku}: {line.quantity} → {quantity}",
                            _("quantity of %(sku)s: %(old)s → %(new)s", sku=line.sku,
                              old=line.quantity, new=quantity)))
            line.quantity = quantity
    for line_id, sku in (fix.skus or {}).items():
        line, sku = lines[line_id], sku.strip()
        if sku != line.supplier_sku:
            changes.append((f"{line.sku} mapped to {sku}"
                            + (f" (was {line.supplier_sku})" if line.supplier_sku else ""),
                            _("%(sku)s mapped to %(new)s (was %(old)s)", sku=line.sku, new=sku,
                              old=line.supplier_sku) if line.supplier_sku
                            else _("%(sku)s mapped to %(new)s", sku=line.sku, new=sku)))
            line.supplier_sku = sku
            if fix.remember:
                _remember(so, line, sku)
    so.cost_cents = sum(line.unit_cost_cents * line.quantity for line in so.lines)
    return changes


def _remember(so: SupplierOrder, line: SupplierOrderLine, sku: str) -> None:
    """Save a remapped SKU as the product's mapping for this supplier."""
    from models.catalog.products import SupplierSku

    product_id = line.order_line.product_id
    if product_id is None:
        return
    mapping = db.session.scalar(select(SupplierSku).where(
        SupplierSku.supplier_id == so.supplier_id, SupplierSku.product_id == product_id))
    if mapping is None:
        db.session.add(SupplierSku(supplier_id=so.supplier_id, product_id=product_id,
                                   supplier_sku=sku))
    else:
        mapping.supplier_sku = sku


class FieldErrors(InvalidInput):
    """The Resolve form's problems, by field; nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Please correct the highlighted fields; nothing was saved."))
        self.errors = errors


# ---- Cancel -------------------------------------------------------------------------


def cancel(so: SupplierOrder, actor: Actor, reason: str, *,
           expected_version: int | None = None) -> bool:
    """Cancel a supplier order; True when the supplier must still be told (by the job).

    Pending or in error: canceled at once. Submitted or accepted: the cancellation is
    asked of the supplier by its job, which cancels it (or marks it for manual
    follow-up when the supplier takes no cancellations by API).
    """
    if expected_version is not None and int(expected_version) != so.version:
        raise Conflict(_("Supplier order %(reference)s was changed by someone else since "
                         "you opened it (reload to see what changed); nothing was saved.",
                         reference=so.reference))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the supplier order is canceled."))
    if not actor.parties & {Party.OPERATOR, Party.SYSTEM}:
        raise NotAllowed(_("Only an operator can cancel a supplier order."))
    if so.status in (S.PENDING, S.ERROR):
        move(so, S.CANCELED, actor, note=reason, expected_version=expected_version,
             cancel_reason=reason[:255], process_requested_at=None)
        return False
    if so.status in (S.SUBMITTED, S.ACCEPTED):
        if so.cancel_requested_at is None:
            so.cancel_requested_at, so.cancel_reason = utcnow(), reason[:255]
            # shown translated: models/stored_text.py
            trail(so, actor, f"cancel asked of {so.supplier.name}: {reason}")
            db.session.flush()
        return True
    raise TransitionRefused(_("Supplier order %(reference)s is %(status)s; it cannot be "
                              "canceled.", reference=so.reference,
                              status=SUPPLIER_INFO[so.status].label))


def cancel_for_order(order_id: int, actor: Actor, reason: str) -> bool:
    """Cancel every open supplier order of an order (the order itself was canceled)."""
    pending_news = False
    for so in db.session.scalars(select(SupplierOrder).where(
            SupplierOrder.order_id == order_id,
            SupplierOrder.status.not_in([S.SHIPPED.value, S.CANCELED.value]))):
        pending_news |= cancel(so, actor, reason)
    return pending_news
