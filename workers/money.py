"""A carrier's remittance statement fetched from its API, imported as an uploaded one is.

Only the sandbox carrier offers a statement API. Its JSON is turned into the CSV an upload
would bring and handed to models.money.remittances.import_statement, so matching,
duplicates and "already imported" behave exactly as for a file.
"""

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date

import requests
from flask_babel import gettext as _
from sqlalchemy import select

from models.actor import Actor
from models.base import db
from models.catalog import Carrier
from models.money.remittances import (
    Columns,
    ImportResult,
    import_statement,
    save_mapping,
    saved_mapping,
)
from models.money.tables import RemittanceStatement

from .carriers.base import CarrierConfig
from .shipping import carrier_config

API_KINDS = ("sandbox",)  # adapters whose carrier has a statement API
API_COLUMNS = Columns(reference="reference")  # the CSV the JSON is turned into


class FetchError(Exception):
    """The statement could not be fetched or read; `status` is the answer to give."""

    def __init__(self, message: str, status: int = 502):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Fetched:
    """A statement as the carrier sent it (its bytes) and as CSV for the import."""

    content: bytes
    csv: bytes


def has_statement_api(carrier: Carrier) -> bool:
    """Whether the carrier's statements can be fetched rather than uploaded."""
    return carrier.kind in API_KINDS and not carrier.local_delivery


def _get(config: CarrierConfig) -> requests.Response:
    """GET the statement; FetchError when the carrier cannot be reached or fails."""
    if not config.base_url:
        raise FetchError(_("%(carrier)s has no API address set: add it in the carrier's "
                           "settings.", carrier=config.name), status=422)
    url = config.base_url.rstrip("/") + "/statement"
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    try:
        response = requests.get(url, headers=headers, timeout=config.timeout)
    except requests.Timeout:
        raise FetchError(_("%(carrier)s did not answer within %(seconds)g s.",
                           carrier=config.name, seconds=config.timeout)) from None
    except requests.ConnectionError:
        raise FetchError(_("Could not reach %(carrier)s at %(address)s.", carrier=config.name,
                           address=config.base_url)) from None
    except requests.RequestException as exc:
        raise FetchError(_("Fetching %(carrier)s's statement failed: %(error)s",
                           carrier=config.name, error=exc)) from None
    if response.status_code >= 500:
        raise FetchError(_("%(carrier)s answered %(status)s: try again later.",
                           carrier=config.name, status=response.status_code))
    if response.status_code >= 400:
        raise FetchError(_("%(carrier)s refused (%(status)s): check the carrier's API key in "
                           "its settings.", carrier=config.name, status=response.status_code))
    return response


def _cents(value) -> str:
    """Cents as the CSV's amount (1234.50); ValueError unless a whole number of cents ≥ 0."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(value)
    return f"{value // 100}.{value % 100:02d}"


def to_csv(data) -> bytes:
    """The statement's lines as an upload's CSV; ValueError when they have another shape."""
    lines = data.get("lines") if isinstance(data, dict) else None
    if not isinstance(lines, list):
        raise ValueError("no list of lines")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["tracking_number", "amount", "fees", "payout_date", "reference"])
    for line in lines:
        if not isinstance(line, dict) or not isinstance(line.get("tracking_number"), str):
            raise ValueError("a line without a tracking number")
        payout = date.fromisoformat(str(line.get("payout_date")))
        writer.writerow([line["tracking_number"], _cents(line.get("amount_collected_cents")),
                         _cents(line.get("fees_cents", 0)), payout.isoformat(), "API"])
    return out.getvalue().encode()


def fetch(carrier: Carrier) -> Fetched:
    """The carrier's current statement; FetchError when it cannot be had or read."""
    config = carrier_config(carrier)
    response = _get(config)
    try:
        converted = to_csv(response.json())
    except ValueError:
        raise FetchError(_("%(carrier)s sent a statement that cannot be read (not the JSON "
                           "expected).", carrier=config.name)) from None
    return Fetched(response.content, converted)


def fetch_and_import(carrier: Carrier, actor: Actor, today: date) -> ImportResult:
    """Fetch the carrier's statement and import it; the same statement twice creates nothing.

    Flushes, never commits. The statement is known by the sha256 of the bytes fetched.
    """
    if not has_statement_api(carrier):
        raise FetchError(_("%(carrier)s has no statement API: upload its statement file.",
                           carrier=carrier.name), status=422)
    fetched = fetch(carrier)
    digest = hashlib.sha256(fetched.content).hexdigest()
    earlier = db.session.scalar(select(RemittanceStatement).where(
        RemittanceStatement.carrier_id == carrier.id,
        RemittanceStatement.file_sha256 == digest))
    if earlier is not None:
        return ImportResult(earlier, [], already_imported=True)
    # The import saves the columns it read with: keep the mapping uploads of this carrier use.
    mapping = saved_mapping(carrier.id)
    kept = Columns.of(mapping) if mapping is not None else None
    result = import_statement(carrier, f"sandbox-api-{today.isoformat()}.json", fetched.csv,
                              API_COLUMNS, actor)
    if kept is not None:
        save_mapping(carrier, kept)
    else:
        db.session.delete(saved_mapping(carrier.id))
    if result.statement is not None:
        result.statement.file_sha256 = digest
    db.session.flush()
    return result
