"""File suppliers' paperwork: purchase-order files handed out, status files taken back.

A status file's rows name our supplier orders by reference ("#1234-56": the order and
the supplier order). Each row is one supplier reply, applied through apply_reply like
an API supplier's answer; a row about an order that is not this supplier's is refused.
"""

import re
from dataclasses import dataclass, replace
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models.actor import Actor
from models.base import db, utcnow
from models.catalog.products import Supplier
from models.status import SUPPLIER_INFO, Party, supplier_parties

from .operations import trail
from .replies import ACCEPTED, CANCELED, REJECTED, SHIPPED, apply_reply
from .tables import SupplierFile, SupplierOrder

REFERENCE = re.compile(r"#?(\d+)-(\d+)")
# What each reply outcome asks the supplier order to become.
TARGETS = {ACCEPTED: "accepted", REJECTED: "error", SHIPPED: "shipped", CANCELED: "canceled"}
APPLIED = {"accepted", "rejected", "shipped", "canceled", "received"}


def mark_downloaded(file: SupplierFile, now: datetime | None = None) -> None:
    """Note that someone downloaded a purchase-order file (the first time is kept)."""
    if file.downloaded_at is None:
        file.downloaded_at = now or utcnow()
        db.session.flush()


@dataclass
class StatusRow:
    """One row of a status file and what came of it: applied, no change or refused."""

    reference: str
    outcome: str  # what the file said: accepted, shipped, rejected, canceled
    result: str = ""  # applied, no_change, refused
    detail: str = ""  # the supplier order's status now, or why the row was refused
    line: int | None = None  # known for rows the file reader refused
    supplier_order: SupplierOrder | None = None


def apply_status_file(supplier: Supplier, replies, errors, now: datetime | None = None
                      ) -> list[StatusRow]:
    """Apply each (reference, reply) of a read status file to this supplier's orders.

    `errors` are the reader's refused rows, (line, reason); they are reported as they
    are. Nothing is committed: the view commits the whole file at once.
    """
    now = now or utcnow()
    orders = _orders(supplier, [reference for reference, _reply in replies])
    report = [StatusRow("", "", "refused", reason, line) for line, reason in errors]
    for reference, reply in replies:
        row = StatusRow(reference, reply.outcome)
        so = orders.get(_key(reference))
        if so is None:
            row.result = "refused"
            row.detail = _("%(reference)s is not an order of %(supplier)s: check the "
                           "reference (it looks like #1234-56).", reference=reference,
                           supplier=supplier.name)
        else:
            row.supplier_order = so
            _apply(row, so, reply, now)
        report.append(row)
    db.session.flush()
    return report


def _apply(row: StatusRow, so: SupplierOrder, reply, now: datetime) -> None:
    """One row's reply through the door, and its result in words."""
    target = TARGETS.get(reply.outcome)
    before = so.status
    if target and target != before and Party.SUPPLIER not in supplier_parties(before, target):
        # Not applied at all (an answer about an order never sent must not mark it
        # answered); the trail keeps what the file said.
        row.result = "refused"
        row.detail = _("%(reference)s is %(status)s: it cannot become %(target)s.",
                       reference=so.reference, status=SUPPLIER_INFO[before].label,
                       target=SUPPLIER_INFO[target].label)
        trail(so, Actor.supplier(so.supplier.name), f"status file said {reply.outcome}; not "
              f"applied: {so.reference} is {SUPPLIER_INFO[before].label}", now)
        return
    outcome = apply_reply(so, replace(reply, supplier_order_id=so.id), now)
    if outcome in APPLIED:
        row.result = "applied"
    elif outcome == "no_change":
        row.result = "no_change"
    else:
        row.result = "refused"
    row.detail = (_("%(status)s, tracking %(tracking)s", status=SUPPLIER_INFO[so.status].label,
                    tracking=so.tracking_number) if so.tracking_number
                  else str(SUPPLIER_INFO[so.status].label))


def _key(reference: str) -> str:
    """A reference as compared: "1234-56" (no #, no spaces)."""
    return reference.replace(" ", "").lstrip("#")


def _orders(supplier: Supplier, references: list[str]) -> dict[str, SupplierOrder]:
    """This supplier's orders the references name, by _key (order and id must both match)."""
    ids = set()
    for reference in references:
        match = REFERENCE.fullmatch(_key(reference))
        if match and int(match.group(2)) <= 2**31 - 1:
            ids.add(int(match.group(2)))
    found: dict[str, SupplierOrder] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        for so in db.session.scalars(
                select(SupplierOrder).where(SupplierOrder.id.in_(ordered[start:start + 500]),
                                            SupplierOrder.supplier_id == supplier.id)
                .options(selectinload(SupplierOrder.lines))):
            found[f"{so.order_id}-{so.id}"] = so
    return found


__all__ = ["APPLIED", "StatusRow", "apply_status_file", "mark_downloaded"]
