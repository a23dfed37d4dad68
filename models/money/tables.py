"""Carriers' remittance statements: their column mapping, each imported file and its lines."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Timestamps, db, utcnow

# What one statement line says about a parcel's cash.
REMITTED, SHORT, OVER, UNKNOWN, DUPLICATE = "remitted", "short", "over", "unknown", "duplicate"
OUTCOMES = (REMITTED, SHORT, OVER, UNKNOWN, DUPLICATE)
# Outcomes that settle a parcel: a later line for it is a duplicate, never counted again.
SETTLING = (REMITTED, SHORT, OVER)


class RemittanceMapping(Timestamps, db.Model):
    """Which header of a carrier's statement holds each of our fields, and how amounts read."""

    __tablename__ = "remittance_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), unique=True)
    tracking_number: Mapped[str] = mapped_column(String(64))
    amount: Mapped[str] = mapped_column(String(64))
    # Empty: the carrier's statements have no fees column (fees are 0).
    fees: Mapped[str] = mapped_column(String(64), default="")
    payout_date: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64), default="")
    # 1.234,50 (decimal comma) rather than 1,234.50.
    decimal_comma: Mapped[bool] = mapped_column(default=False)


class RemittanceStatement(db.Model):
    """One imported statement file of a carrier, with its figures at import time."""

    __tablename__ = "remittance_statements"
    __table_args__ = (
        # The same file imported twice is recognised by its bytes and creates nothing.
        UniqueConstraint("carrier_id", "file_sha256"),
        Index("ix_remittance_statements_uploaded", "uploaded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_by_name: Mapped[str] = mapped_column(String(120), default="")
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows: Mapped[int] = mapped_column(default=0)  # data rows in the file
    refused_rows: Mapped[int] = mapped_column(default=0)  # rows that made no line
    # Totals over the lines that count (remitted, short, over and unknown; not duplicates).
    collected_cents: Mapped[int] = mapped_column(default=0)
    fees_cents: Mapped[int] = mapped_column(default=0)
    # Sum of the differences of short (negative) and over (positive) lines.
    disputed_cents: Mapped[int] = mapped_column(default=0)
    # Lines whose tracking number matched no parcel, and their cash: the money board sums
    # these per carrier (statements are few; their lines are not).
    unknown_lines: Mapped[int] = mapped_column(default=0, server_default="0")
    unknown_cents: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def net_cents(self) -> int:
        """What the carrier paid out: collected minus fees."""
        return self.collected_cents - self.fees_cents


class RemittanceLine(db.Model):
    """One statement row matched (or not) to a parcel, with its outcome and difference."""

    __tablename__ = "remittance_lines"
    __table_args__ = (
        Index("ix_remittance_lines_statement", "statement_id", "line_no"),
        # A parcel's cash is settled once: a second settling line cannot be written,
        # even by two imports running at the same time.
        Index("uq_remittance_lines_settled_parcel", "parcel_id", unique=True,
              sqlite_where=text("outcome IN ('remitted', 'short', 'over')"),
              postgresql_where=text("outcome IN ('remitted', 'short', 'over')")),
        Index("ix_remittance_lines_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("remittance_statements.id"))
    line_no: Mapped[int]  # the row's line in the file
    tracking_number: Mapped[str] = mapped_column(String(64))  # as normalised for matching
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    amount_cents: Mapped[int]
    fees_cents: Mapped[int] = mapped_column(default=0)
    payout_date: Mapped[date]
    reference: Mapped[str] = mapped_column(String(120), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    # Amount minus the COD amount expected: negative when short, positive when over.
    difference_cents: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(255), default="")
