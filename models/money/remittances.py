"""Importing a carrier's remittance statement: reading it through the carrier's column
mapping, matching each line to a parcel of that carrier, and storing the result.

Decoding (UTF-8 with or without a byte order mark, Latin-1, Arabic Windows-1256) and
separators (comma, semicolon, tab) are those of order uploads (models/intake/csvfile.py).
A row that cannot be read (no tracking number, an amount or date that is not one) is
refused with its line and reasons and makes no line; the rest are stored together.
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models.actor import Actor
from models.base import db
from models.boards.rollups import apply as roll
from models.boards.rollups import changed, facts_for
from models.bulk import update_rows
from models.catalog import Carrier
from models.errors import InvalidInput
from models.intake.csvfile import CsvFile, CsvFileError, detect_encoding, sniff_delimiter
from models.orders import Order
from models.orders.operations import expire_order
from models.shipping.detection import normalise
from models.shipping.tables import Parcel
from models.text import without_accents

from .tables import (
    DUPLICATE,
    OVER,
    REMITTED,
    SETTLING,
    SHORT,
    UNKNOWN,
    RemittanceLine,
    RemittanceMapping,
    RemittanceStatement,
)

LOOKUP_CHUNK = 1000
FIELDS = ("tracking_number", "amount", "fees", "payout_date", "reference")
REQUIRED = ("tracking_number", "amount", "payout_date")
LABELS = {"tracking_number": _l("tracking number"), "amount": _l("amount collected"),
          "fees": _l("fees"), "payout_date": _l("payout date"), "reference": _l("reference")}
# Headers accepted, folded, while a carrier has no saved mapping (French exports included).
SYNONYMS = {
    "tracking_number": {"tracking_number", "tracking", "numero_de_suivi", "numero_suivi",
                        "n_suivi", "n_de_suivi", "no_de_suivi", "suivi", "code_suivi", "colis",
                        "numero_colis"},
    "amount": {"amount", "amount_collected", "cod", "cod_amount", "montant",
               "montant_encaisse", "montant_collecte", "crbt", "encaisse"},
    "fees": {"fees", "fee", "frais", "frais_de_livraison", "frais_livraison", "commission"},
    "payout_date": {"payout_date", "payout", "date_de_paiement", "date_paiement",
                    "date_de_virement", "date_virement", "date_versement", "date"},
    "reference": {"reference", "ref", "batch", "lot", "numero_de_virement"},
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")
BLANKS = re.compile(r"[\s\u00a0\u202f]+")
CURRENCY = re.compile(r"^(?:[A-Za-z]{2,3}|€|\$)|(?:[A-Za-z]{2,3}|€|\$)$")


@dataclass(frozen=True)
class Columns:
    """The header naming each field in a carrier's statements, and how amounts are written."""

    tracking_number: str = "tracking_number"
    amount: str = "amount"
    fees: str = "fees"
    payout_date: str = "payout_date"
    reference: str = ""
    decimal_comma: bool = False

    @classmethod
    def of(cls, mapping: RemittanceMapping | None) -> "Columns":
        """A saved mapping's columns, or the defaults when there is none."""
        if mapping is None:
            return cls()
        return cls(**{name: getattr(mapping, name) for name in FIELDS},
                   decimal_comma=mapping.decimal_comma)


@dataclass
class Refusal:
    """A row that made no line: its file line, the tracking number as written, and why."""

    line: int
    tracking_number: str
    reasons: list[str]


@dataclass
class ReadRow:
    """A readable row of a statement."""

    line: int
    tracking_number: str  # normalised
    spelled: str  # upper case, without spaces: as the carrier may have stored it
    amount_cents: int
    fees_cents: int
    payout_date: date
    reference: str


@dataclass
class StatementRead:
    """What a statement file says: readable rows, refused rows, and the headers it used."""

    rows: list[ReadRow] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    columns: Columns = field(default_factory=Columns)

    @property
    def total_rows(self) -> int:
        """Data rows in the file (blank lines not counted)."""
        return len(self.rows) + len(self.refused)


@dataclass
class ImportResult:
    """An import's outcome: the statement (new or the earlier one), and the refused rows."""

    statement: RemittanceStatement | None
    refused: list[Refusal]
    already_imported: bool = False


# -- reading ---------------------------------------------------------------------------------

def fold(name: str) -> str:
    """A header as compared: no accents, lower case, words joined by "_"."""
    text = without_accents(name.strip().lstrip("\ufeff")).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def normalise_tracking(value: str) -> str:
    """A tracking number as matched: upper case, without spaces or dashes."""
    return normalise(value)


def parse_money(text: str, decimal_comma: bool, allow_minus: bool = False) -> int:
    """Cents of "1 234.50", "1,234.50" (or "1.234,50" with decimal_comma); ValueError if not."""
    value = CURRENCY.sub("", BLANKS.sub("", text))
    if allow_minus and value.startswith("-"):
        value = value[1:]
    point, thousands = (",", r"\.") if decimal_comma else (r"\.", ",")
    match = re.fullmatch(rf"(\d{{1,3}}(?:{thousands}\d{{3}})+|\d+)(?:{point}(\d{{1,2}}))?", value)
    if not match:
        raise ValueError(text)
    units, cents = match.groups()
    return int(units.replace(",", "").replace(".", "")) * 100 + int((cents or "0").ljust(2, "0"))


def parse_date(text: str) -> date:
    """A payout date as carriers write it (2026-11-28, 28/11/2026…); ValueError if not one."""
    first = text.strip().replace("T", " ").split(" ")[0]
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(first, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _open(content: bytes) -> CsvFile:
    """The statement decoded, its separator found and its header read; InvalidInput if not."""
    encoding = detect_encoding(content)
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not text in one encoding.")) from None
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = sniff_delimiter(first_line)
    try:
        header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    except csv.Error as error:
        raise InvalidInput(_("The first line cannot be read: %(error)s.", error=error)) from None
    if not any(h.strip() for h in header):
        raise InvalidInput(_("The file is empty: its first line must name the columns."))
    return CsvFile(content, encoding, delimiter, header, {})


def _resolve(header: list[str], columns: Columns, synonyms: bool) -> dict[str, int]:
    """Each field's column index in the file; InvalidInput naming what is missing."""
    folded = {}
    for index, name in enumerate(header):
        folded.setdefault(fold(name), index)
    found, missing = {}, []
    for name in FIELDS:
        wanted = getattr(columns, name)
        index = folded.get(fold(wanted)) if wanted.strip() else None
        if index is None and synonyms:
            index = next((folded[s] for s in sorted(SYNONYMS[name]) if s in folded), None)
        if index is not None:
            found[name] = index
        elif name in REQUIRED or (name == "fees" and wanted.strip() and not synonyms):
            missing.append(_("%(field)s (“%(header)s”)", field=LABELS[name], header=wanted)
                           if wanted.strip() else str(LABELS[name]))
    if missing:
        names = ", ".join(f"“{h.strip()}”" for h in header if h.strip())
        raise InvalidInput(_("The file has no column for the %(missing)s. Its columns are "
                             "%(columns)s: change the mapping to name them, or fix the file.",
                             missing=", ".join(missing), columns=names))
    return found


def read_statement(content: bytes, columns: Columns, synonyms: bool = False) -> StatementRead:
    """Every row of a statement, read or refused; InvalidInput when the file cannot be read."""
    csv_file = _open(content)
    found = _resolve(csv_file.header, columns, synonyms)
    result = StatementRead(columns=replace(
        columns, **{name: "" for name in ("fees", "reference") if name not in found},
        **{name: csv_file.header[i].strip().lstrip("\ufeff") for name, i in found.items()}))
    try:
        for line, cells in csv_file.records():
            values = {name: cells[i].strip() if i < len(cells) else ""
                      for name, i in found.items()}
            row = _row(line, values, columns.decimal_comma)
            (result.refused if isinstance(row, Refusal) else result.rows).append(row)
    except CsvFileError as error:
        raise InvalidInput(str(error)) from None
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not text in one encoding.")) from None
    return result


def _row(line: int, values: dict[str, str], decimal_comma: bool) -> ReadRow | Refusal:
    """One row read, or refused with every reason found."""
    reasons = []
    raw_tracking = values.get("tracking_number", "")
    tracking = normalise_tracking(raw_tracking)
    if not tracking:
        reasons.append(_("The tracking number is empty."))
    elif len(tracking) > 64:
        reasons.append(_("The tracking number is longer than 64 characters."))
    example = "1.234,50" if decimal_comma else "1234.50"
    amount = fees = 0
    text = values.get("amount", "")
    try:
        amount = parse_money(text, decimal_comma)
    except ValueError:
        reasons.append(_("Amount “%(text)s” is not an amount (write %(example)s).",
                         text=text, example=example) if text
                       else _("The amount collected is empty."))
    text = values.get("fees", "")
    if text:
        try:
            # Some carriers write fees as a deduction (-15.00): the size is what counts.
            fees = parse_money(text, decimal_comma, allow_minus=True)
        except ValueError:
            reasons.append(_("Fees “%(text)s” is not an amount (write %(example)s).",
                             text=text, example=example))
    text = values.get("payout_date", "")
    payout = None
    try:
        payout = parse_date(text)
    except ValueError:
        reasons.append(_("Payout date “%(text)s” is not a date (write 2026-11-28 or "
                         "28/11/2026).", text=text)
                       if text else _("The payout date is empty."))
    if reasons:
        return Refusal(line, raw_tracking, reasons)
    spelled = BLANKS.sub("", raw_tracking).upper()
    return ReadRow(line, tracking, spelled, amount, fees, payout,
                   values.get("reference", "")[:120])


# -- matching -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    """A parcel of the carrier a tracking number names, with the cash it should bring."""

    parcel_id: int
    order_id: int
    expected_cents: int
    leads: bool
    shipping_status: str | None


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    """`values` in slices of `size`."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def find_parcels(carrier_id: int, numbers: set[str]) -> dict[str, Match]:
    """The carrier's parcels by normalised tracking number, one query per 1,000 numbers.

    `numbers` holds each line's normalised number and its own spelling: stored numbers are
    upper case without spaces (as set_tracking writes them) but may keep a carrier's dashes,
    and an exact IN list uses the tracking index where a normalising expression could not.
    """
    found: dict[str, Match] = {}
    for chunk in _chunks(sorted(numbers)):
        rows = db.session.execute(
            select(Parcel.id, Parcel.order_id, Parcel.leads, Parcel.tracking_number,
                   Order.cod_amount_cents, Order.shipping_status)
            .join(Order, Order.id == Parcel.order_id)
            .where(Parcel.carrier_id == carrier_id, Parcel.tracking_number.in_(chunk))
            .order_by(Parcel.leads.desc(), Parcel.id)).all()
        for parcel_id, order_id, leads, tracking, cod, status in rows:
            # The order's cash travels with its leading parcel; another parcel of the
            # same order (a supplier's) brings nothing of its own.
            found.setdefault(normalise_tracking(tracking),
                             Match(parcel_id, order_id, (cod or 0) if leads else 0, leads,
                                   status))
    return found


def settled_parcels(parcel_ids: set[int]) -> dict[int, tuple[int, int]]:
    """Parcels already settled by an earlier statement: parcel id -> (statement id, line)."""
    settled = {}
    for chunk in _chunks(sorted(parcel_ids)):
        rows = db.session.execute(
            select(RemittanceLine.parcel_id, RemittanceLine.statement_id, RemittanceLine.line_no)
            .where(RemittanceLine.parcel_id.in_(chunk),
                   RemittanceLine.outcome.in_(SETTLING))).all()
        settled.update({parcel_id: (statement_id, line) for parcel_id, statement_id, line in rows})
    return settled


def _money(cents: int) -> str:
    """Cents as written in a note."""
    return f"{cents / 100:.2f}"


def match_rows(carrier: Carrier, rows: list[ReadRow],
               leading: set[int] | None = None) -> list[dict]:
    """Each readable row as a remittance line's columns, with its outcome and why; the ids
    of matched parcels that carry their order's cash are added to `leading`."""
    parcels = find_parcels(carrier.id, {r.tracking_number for r in rows}
                           | {r.spelled for r in rows})
    if leading is not None:
        leading.update(m.parcel_id for m in parcels.values() if m.leads)
    settled = settled_parcels({m.parcel_id for m in parcels.values()})
    seen: dict[str, int] = {}
    lines = []
    for row in rows:
        match = parcels.get(row.tracking_number)
        outcome, difference = UNKNOWN, 0
        if row.tracking_number in seen:
            outcome = DUPLICATE
            note = f"Same tracking number as line {seen[row.tracking_number]} of this statement."
        elif match is None:
            note = f"No parcel of {carrier.name} has this tracking number."
        elif match.parcel_id in settled:
            outcome = DUPLICATE
            statement_id, line = settled[match.parcel_id]
            note = f"Already remitted in statement #{statement_id}, line {line}."
        else:
            difference = row.amount_cents - match.expected_cents
            outcome = REMITTED if difference == 0 else SHORT if difference < 0 else OVER
            note = "" if difference == 0 else (
                f"Expected {_money(match.expected_cents)}, collected {_money(row.amount_cents)}.")
            if match.shipping_status != "delivered":
                # Cash for a parcel we do not know as delivered is worth a look.
                status = match.shipping_status or "not shipped"
                note = f"{note} The order is not marked delivered ({status}).".strip()
        seen.setdefault(row.tracking_number, row.line)
        lines.append({
            "line_no": row.line, "tracking_number": row.tracking_number,
            "parcel_id": match.parcel_id if match else None,
            "order_id": match.order_id if match else None,
            "amount_cents": row.amount_cents, "fees_cents": row.fees_cents,
            "payout_date": row.payout_date, "reference": row.reference,
            "outcome": outcome, "difference_cents": difference, "note": note})
    return lines


# -- the operation --------------------------------------------------------------------------

def saved_mapping(carrier_id: int) -> RemittanceMapping | None:
    """The carrier's saved column mapping, if any."""
    return db.session.scalar(
        select(RemittanceMapping).where(RemittanceMapping.carrier_id == carrier_id))


def save_mapping(carrier: Carrier, columns: Columns) -> RemittanceMapping:
    """Store the carrier's column mapping (the caller commits)."""
    for name in REQUIRED:
        if not getattr(columns, name).strip():
            raise InvalidInput(_("Name the column that holds the %(field)s.",
                                 field=LABELS[name]))
    mapping = saved_mapping(carrier.id) or RemittanceMapping(carrier_id=carrier.id)
    for name in FIELDS:
        setattr(mapping, name, getattr(columns, name).strip()[:64])
    mapping.decimal_comma = columns.decimal_comma
    db.session.add(mapping)
    db.session.flush()
    return mapping


def import_statement(carrier: Carrier, file_name: str, content: bytes, columns: Columns,
                     actor: Actor) -> ImportResult:
    """Read, match and store a statement; the same file twice creates nothing the second time.

    The mapping that read the file is saved with the headers it found. Flushes, never commits.
    """
    digest = hashlib.sha256(content).hexdigest()
    earlier = db.session.scalar(select(RemittanceStatement).where(
        RemittanceStatement.carrier_id == carrier.id,
        RemittanceStatement.file_sha256 == digest))
    if earlier is not None:
        return ImportResult(earlier, [], already_imported=True)
    read = read_statement(content, columns, synonyms=saved_mapping(carrier.id) is None)
    save_mapping(carrier, read.columns)
    if not read.rows:
        # Nothing to store: the same file, once the mapping is right, must still import.
        return ImportResult(None, read.refused)
    leading: set[int] = set()
    lines = match_rows(carrier, read.rows, leading)
    counted = [line for line in lines if line["outcome"] != DUPLICATE]
    statement = RemittanceStatement(
        carrier_id=carrier.id, file_name=file_name[:255], file_sha256=digest,
        uploaded_by_id=actor.user_id, uploaded_by_name=actor.name[:120],
        rows=read.total_rows, refused_rows=len(read.refused),
        collected_cents=sum(line["amount_cents"] for line in counted),
        fees_cents=sum(line["fees_cents"] for line in counted),
        disputed_cents=sum(line["difference_cents"] for line in counted
                           if line["outcome"] in (SHORT, OVER)),
        unknown_lines=sum(1 for line in counted if line["outcome"] == UNKNOWN),
        unknown_cents=sum(line["amount_cents"] for line in counted
                          if line["outcome"] == UNKNOWN))
    db.session.add(statement)
    db.session.flush()
    db.session.add_all(RemittanceLine(statement_id=statement.id, **line) for line in lines)
    db.session.flush()
    settle_orders([line for line in lines if line["outcome"] in SETTLING], leading)
    return ImportResult(statement, read.refused)


def settle_orders(lines: list[dict], leading: set[int]) -> None:
    """Write on each order what the line settling its leading parcel said, and move the
    money rollups with it (a supplier's extra parcel of the same order carries no cash)."""
    settling = {line["order_id"]: line for line in lines if line["parcel_id"] in leading}
    if not settling:
        return
    before = facts_for(settling)
    rows = [{"id": order_id, "remittance": line["outcome"],
             "remitted_cents": line["amount_cents"], "remittance_fees_cents": line["fees_cents"]}
            for order_id, line in sorted(settling.items())]
    # The version moves too: a writer that read the order before this must not write
    # rollups from what it read.
    update_rows(Order.__table__, rows, extra_set="version = orders.version + 1")
    roll((before[row["id"]], changed(before[row["id"]], **row)) for row in rows
         if row["id"] in before)
    for order_id in settling:
        expire_order(order_id)
