"""The audit trail: every user-visible change to an order, by whom and when."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db, utcnow
from .user import User


class AuditEvent(db.Model):
    """One recorded change: actor, kind, from → to, note, time."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_order_created", "order_id", "created_at"),
        # Agents' figures for the day read their own events by time.
        Index("ix_audit_events_actor_created", "actor_user_id", "created_at"),
        # Deleting an order line (an edit that removes it) checks the events naming it.
        Index("ix_audit_events_order_line", "order_line_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    sku: Mapped[str | None] = mapped_column(String(64), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The username, or the worker's name ("system", "carrier:sandbox").
    actor_name: Mapped[str] = mapped_column(String(64))
    # confirmation, shipping, stock, edit, claim, reopen, supplier, ...
    kind: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(String(64))
    to_value: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An agent's outcome: seconds from taking the card to recording it (time per call).
    call_seconds: Mapped[int | None]

    actor_user: Mapped[User | None] = relationship()


def audit_row(order_id: int | None, actor, kind: str, src: str | None, dst: str | None,
              note: str = "", at: datetime | None = None, *, line=None) -> dict:
    """One audit event's columns: for `AuditEvent(**row)` or a batch INSERT.

    `actor` is an Actor; `line` an order line (ORM or row) the event is about.
    """
    return {"order_id": order_id, "order_line_id": line.id if line is not None else None,
            "sku": line.sku if line is not None else None, "actor_user_id": actor.user_id,
            "actor_name": actor.name, "kind": kind, "from_value": src, "to_value": dst,
            "note": note, "created_at": at or utcnow(), "call_seconds": None}


# What each kind of event is called in an order's history (the kind itself is stored).
KIND_LABELS = {
    "import": _l("Arrived"), "confirmation": _l("Confirmation"), "shipping": _l("Shipping"),
    "reopen": _l("Reopened"), "edit": _l("Edited"), "claim": _l("Taken by an agent"),
    "parcel": _l("Parcel"), "news": _l("Channel told"), "push": _l("Sent on"),
    "channel_cancel": _l("Canceled by the channel"), "routing": _l("Routing"),
    "stock": _l("Stock"), "supplier": _l("Supplier"),
}
