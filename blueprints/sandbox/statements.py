"""The sandbox carrier's remittance statement: the cash it collected on delivered parcels.

A courier pays the shop out later, with a statement of every parcel it delivered: what it
collected, its fees and the payout date. One parcel in about twenty comes back 10.00
short (decided by its tracking number, so a statement reads the same every time), which
gives the demo a dispute to look at.
"""

import hashlib

from flask import current_app, jsonify
from sqlalchemy import select

from models.base import db, utcnow
from models.sandbox import SandboxParcel

from . import bp
from .carrier import carrier_api
from .journeys import events_at

FEES_CENTS = 1500  # the sandbox's fee per delivered parcel
SHORT_CENTS = 1000
SHORT_ONE_IN = 20


def is_short(tracking_number: str) -> bool:
    """Whether the driver handed in less cash than the parcel's COD for this parcel."""
    seed = int.from_bytes(hashlib.sha256(f"short:{tracking_number}".encode()).digest()[:4], "big")
    return seed % SHORT_ONE_IN == 0


def statement_lines(account: str) -> list[dict]:
    """One line per parcel of the account delivered by now, in tracking number order."""
    now, step = utcnow(), current_app.config["SANDBOX_STEP_SECONDS"]
    parcels = db.session.scalars(
        select(SandboxParcel)
        .where(SandboxParcel.api_key == account, SandboxParcel.picked_up_at.is_not(None),
               SandboxParcel.canceled_at.is_(None))
        .order_by(SandboxParcel.tracking_number)).all()
    lines = []
    for parcel in parcels:
        delivered = next((e for e in events_at(parcel, now, step) if e.code == "DELIVERED"),
                         None)
        if delivered is None:
            continue
        cod = int((parcel.payload or {}).get("cod_amount_cents") or 0)
        collected = max(cod - SHORT_CENTS, 0) if is_short(parcel.tracking_number) else cod
        lines.append({"tracking_number": parcel.tracking_number,
                      "amount_collected_cents": collected, "fees_cents": FEES_CENTS,
                      "payout_date": delivered.at.date().isoformat()})
    return lines


@bp.get("/carrier/statement")
@carrier_api
def remittance_statement(account: str):
    """The account's statement: every delivered parcel's cash, fees and payout date."""
    lines = statement_lines(account)
    return jsonify(currency="MAD", lines=lines,
                   collected_cents=sum(line["amount_collected_cents"] for line in lines),
                   fees_cents=sum(line["fees_cents"] for line in lines))
