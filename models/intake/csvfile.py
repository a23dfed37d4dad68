"""Order CSV files: decoding, columns, rows grouped into orders, and each row's reasons.

Bytes in, IncomingOrder values and per-row reasons out. Nothing here reads the
database: the caller loads the catalogue for each chunk and passes it to check_orders.

Encodings: UTF-8 (with or without a byte order mark) when the bytes decode as UTF-8
strictly. Otherwise the file came from an older Windows Excel, either Arabic
(Windows-1256) or Western (Latin-1). Both put é, è, à, ç… at the same bytes, so they
differ in what the other high bytes mean: Windows-1256 is chosen when more bytes
read as Arabic words there (runs of two or more Arabic letters) than read as French
accented lower-case letters in Latin-1; otherwise Latin-1.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models.status import StatusInfo

from .incoming import Catalogue, IncomingLine, IncomingOrder, Problem, check_order

CHUNK_ORDERS = 2000
PREVIEW_ROWS = 50


@dataclass(frozen=True)
class Column:
    """One column of the file, as the upload page explains it."""

    name: str
    required: bool
    format: str
    example: str


COLUMNS = (
    Column("order_id", True, _l("The shop's order number. Rows sharing it are one order, one "
                                "row per product; they need not be next to each other."),
           "1001"),
    Column("customer_name", True, _l("Text."), "Fatima Zahra Alaoui"),
    Column("phone", True, _l("As the customer wrote it; Moroccan numbers may omit +212."),
           "0612345678"),
    Column("address", True, _l("Text."), "12 Rue Ibn Battouta"),
    Column("city", True, _l("Text."), "Casablanca"),
    Column("region", False, _l("Text."), "Casablanca-Settat"),
    Column("sku", True, _l("A product's SKU in the catalogue."), "TSHIRT-M"),
    Column("quantity", True, _l("A whole number from 1 to 999."), "2"),
    Column("unit_price", False, _l("Price of one item, with . or , before the cents. Empty: "
                                   "the catalogue price."), "149,00"),
    Column("cod_amount", False, _l("What the courier collects for the whole order, read from "
                                   "its first row. Empty: the sum of the lines."), "348.00"),
    Column("currency", False, _l("Three letters. Empty: MAD."), "MAD"),
    Column("shipping_method", False, _l("The shop's shipping rate name."), "Standard"),
    Column("note", False, _l("Text for the call center."), "Call after 18:00"),
)
FIELDS = tuple(c.name for c in COLUMNS)
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
# Order-level columns: every row of an order may repeat them, but must not contradict them.
ORDER_FIELDS = ("customer_name", "phone", "address", "city", "region", "cod_amount",
                "currency", "shipping_method", "note")
LABELS = {"order_id": _l("Order id"), "customer_name": _l("Customer name"), "sku": _l("SKU"),
          "phone": _l("Phone"), "address": _l("Address"), "city": _l("City"),
          "region": _l("Region"), "quantity": _l("Quantity"), "currency": _l("Currency"),
          "unit_price": _l("Unit price"), "cod_amount": _l("COD amount"),
          "shipping_method": _l("Shipping method"), "note": _l("Note")}
# Headers people write in French exports, after lower-casing and joining words with "_".
SYNONYMS = {
    "telephone": "phone", "téléphone": "phone", "ville": "city", "adresse": "address",
    "quantite": "quantity", "quantité": "quantity", "produit": "sku", "prix": "unit_price",
}
EXAMPLE_ROWS = (
    ("1001", "Fatima Zahra Alaoui", "0612345678", "12 Rue Ibn Battouta", "Casablanca",
     "Casablanca-Settat", "TSHIRT-M", "2", "149,00", "348.00", "MAD", "Standard",
     "Call after 18:00"),
    ("1001", "Fatima Zahra Alaoui", "0612345678", "12 Rue Ibn Battouta", "Casablanca",
     "Casablanca-Settat", "CAP-BLACK", "1", "50.00", "", "", "", ""),
)

IMPORT_STATES = {
    s.value: s for s in (
        StatusInfo("checking", _l("Checking"), "blue"),
        StatusInfo("checked", _l("Checked"), "teal"),
        StatusInfo("importing", _l("Importing"), "indigo"),
        StatusInfo("imported", _l("Imported"), "green"),
        StatusInfo("failed", _l("Failed"), "red"),
    )
}

AMOUNT = re.compile(r"(\d+)(?:[.,](\d{1,2}))?")
WHOLE = re.compile(r"\d+")
BLANKS = re.compile(r"[\s\u00a0\u202f]+")
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SAMPLE_BYTES = 1 << 20


class CsvFileError(ValueError):
    """The file as a whole cannot be read: no header, columns missing, broken quoting."""


# -- bytes to text -----------------------------------------------------------------------

def _arabic_bytes() -> bytes:
    """Bytes that Windows-1256 reads as Arabic letters or vowel marks."""
    return bytes(b for b in range(0x80, 0x100)
                 if "\u0621" <= bytes([b]).decode("cp1256") <= "\u0652")


ARABIC_RUN = re.compile(b"[" + re.escape(_arabic_bytes()) + b"]{2,}")
FRENCH_BYTES = tuple(bytes([b]) for b in "àâçéèêëîïôùûüÿ".encode("latin-1"))


def detect_encoding(content: bytes) -> str:
    """utf-8-sig, utf-8, cp1256 or latin-1, by the rule in this module's docstring."""
    if content.startswith(codecs.BOM_UTF8):
        return "utf-8-sig" if _is_utf8(content[3:]) else _single_byte(content[3:])
    return "utf-8" if _is_utf8(content) else _single_byte(content)


def _is_utf8(content: bytes) -> bool:
    """Whether the bytes are strict UTF-8 (decoded piece by piece, nothing kept)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        for start in range(0, len(content), SAMPLE_BYTES):
            decoder.decode(content[start:start + SAMPLE_BYTES])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _single_byte(content: bytes) -> str:
    """Windows-1256 when Arabic words outweigh French accents, else Latin-1."""
    arabic = sum(len(m) for m in ARABIC_RUN.findall(content))
    french = sum(content.count(b) for b in FRENCH_BYTES)
    return "cp1256" if arabic > french else "latin-1"


def _text(content: bytes, encoding: str) -> io.TextIOWrapper:
    """The file as a text stream; newline="" leaves line ends to the csv module."""
    return io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")


def sniff_delimiter(first_line: str) -> str:
    """The separator the header line uses most: comma, semicolon or tab (comma if none)."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def header_field(name: str) -> str:
    """A header as a column name: case, spaces and dashes ignored, French synonyms mapped."""
    key = BLANKS.sub("_", name.strip().lower()).replace("-", "_")
    return SYNONYMS.get(key, key)


def _cell(value: str) -> str:
    """A cell as typed: trimmed, without the quote our refused-rows file puts before formulas."""
    value = value.strip()
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value


# -- the file ------------------------------------------------------------------------------

@dataclass
class Row:
    """One data row: its file line, its values by column name, and what is wrong with it."""

    line: int
    values: dict[str, str]
    reasons: list[str] = field(default_factory=list)


@dataclass
class FileOrder:
    """The rows sharing one order id, the order they make, and the order's own reasons."""

    external_id: str
    rows: list[Row]
    incoming: IncomingOrder | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def row_problems(self) -> bool:
        """Whether a row could not even be read as part of an order."""
        return any(row.reasons for row in self.rows)

    @property
    def ok(self) -> bool:
        """Whether the order can be created as it is."""
        return not self.reasons and not self.row_problems

    def refusals(self) -> list[tuple[Row, list[str]]]:
        """Every row of a refused order with its reasons (order-level ones on the first)."""
        first_bad = next((r.line for r in self.rows if r.reasons), self.rows[0].line)
        out = []
        for n, row in enumerate(self.rows):
            reasons = (self.reasons if n == 0 else []) + row.reasons
            if not reasons:
                reasons = [_("Refused with the rest of its order: see line %(line)s.",
                             line=first_bad)]
            out.append((row, reasons))
        return out


@dataclass
class Plan:
    """Where each order's rows go: its chunk, and how many rows each chunk waits for."""

    chunk_of: dict[str, int]
    chunk_rows: list[int]

    @property
    def total_rows(self) -> int:
        """Data rows in the file (blank lines not counted)."""
        return sum(self.chunk_rows)


@dataclass
class CsvFile:
    """A decoded order file: its encoding, separator and the columns its header names."""

    content: bytes
    encoding: str
    delimiter: str
    header: list[str]
    columns: dict[str, int]

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(first physical line, raw cells) of every non-blank data row."""
        reader = csv.reader(_text(self.content, self.encoding), delimiter=self.delimiter)
        last = 0
        try:
            next(reader, None)
            last = reader.line_num
            for cells in reader:
                line, last = last + 1, reader.line_num
                if "".join(cells).strip():
                    yield line, cells
        except csv.Error as error:
            raise CsvFileError(_("The file cannot be read past line %(line)s: %(error)s. "
                                 "Is a quote opened and never closed?",
                                 line=last + 1, error=error)) from error

    def key(self, line: int, cells: list[str]) -> str:
        """The order a row belongs to; a row without an order id is an order on its own."""
        index = self.columns["order_id"]
        order_id = _cell(cells[index]) if index < len(cells) else ""
        return order_id or f"\x00{line}"

    def plan(self, size: int = CHUNK_ORDERS) -> Plan:
        """First pass: orders in order of first appearance, cut into chunks of `size`."""
        chunk_of: dict[str, int] = {}
        chunk_rows: list[int] = []
        for line, cells in self.records():
            key = self.key(line, cells)
            chunk = chunk_of.get(key)
            if chunk is None:
                chunk = chunk_of[key] = len(chunk_of) // size
                if chunk == len(chunk_rows):
                    chunk_rows.append(0)
            chunk_rows[chunk] += 1
        return Plan(chunk_of, chunk_rows)

    def chunks(self, plan: Plan, currency: str = "MAD") -> Iterator[list[FileOrder]]:
        """Second pass: each chunk's orders as soon as all their rows were read.

        Orders whose rows are far apart keep their chunk waiting; in the usual file
        (an order's rows together) one chunk is held at a time.
        """
        waiting: dict[int, dict[str, list[Row]]] = {}
        missing = list(plan.chunk_rows)
        pairs = list(self.columns.items())
        width = len(self.header)
        for line, cells in self.records():
            key = self.key(line, cells)
            chunk = plan.chunk_of[key]
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            values = {name: cells[i].strip() for name, i in pairs}
            if "'" in "".join(cells):  # rare: undo the quote of our refused-rows file
                values = {name: _cell(value) for name, value in values.items()}
            row = Row(line, values)
            if len(cells) > width and "".join(cells[width:]).strip():
                row.reasons.append(_(
                    "This row has %(cells)s cells but the header names %(width)s: a value "
                    "containing “%(delimiter)s” must be put in double quotes.",
                    cells=len(cells), width=width, delimiter=self.delimiter))
            waiting.setdefault(chunk, {}).setdefault(key, []).append(row)
            missing[chunk] -= 1
            if not missing[chunk]:
                orders = waiting.pop(chunk)
                yield [build_order(rows, currency) for rows in orders.values()]


def read_csv(content: bytes) -> CsvFile:
    """Decode the file, find its separator and map its header to our columns."""
    encoding = detect_encoding(content)
    first_line = _text(content, encoding).readline()
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(_text(content, encoding), delimiter=delimiter)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise CsvFileError(_("The first line cannot be read: %(error)s.",
                             error=error)) from error
    if not any(h.strip() for h in header):
        raise CsvFileError(_("The file is empty: its first line must name the columns."))
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        column = header_field(name)
        if column not in FIELDS:
            continue  # extra columns (ours from a refused-rows file, the shop's own) are ignored
        if column in columns:
            raise CsvFileError(_("Two columns both mean %(column)s: “%(first)s” and "
                                 "“%(second)s”. Keep one.", column=column,
                                 first=header[columns[column]], second=name.strip()))
        columns[column] = index
    absent = [name for name in REQUIRED if name not in columns]
    if absent:
        raise CsvFileError(_("Missing columns: %(columns)s. The first line must name "
                             "the columns, as in the template.", columns=", ".join(absent)))
    return CsvFile(content, encoding, delimiter, header, columns)


# -- rows to orders ----------------------------------------------------------------------------

def label(name: str) -> str:
    """A column name as people read it."""
    return str(LABELS.get(name, name.replace("_", " ").capitalize()))


def parse_amount(text: str) -> int:
    """"149,00", "149.5" or "1 234,50" in cents; ValueError for anything else."""
    match = AMOUNT.fullmatch(BLANKS.sub("", text))
    if not match:
        raise ValueError(text)
    units, cents = match.groups()
    return int(units) * 100 + int((cents or "0").ljust(2, "0"))


def _amount(row: Row, name: str) -> int | None:
    """A row's optional amount in cents; a reason on the row when it is not one."""
    text = row.values.get(name, "")
    if not text:
        return None
    try:
        return parse_amount(text)
    except ValueError:
        row.reasons.append(_("%(column)s “%(text)s” is not an amount (write 149.00 or 149,00).",
                             column=label(name), text=text))
        return None


def _quantity(row: Row) -> int:
    """A row's quantity; a reason on the row (and 1 in its place) when it is not one."""
    text = row.values.get("quantity", "")
    if WHOLE.fullmatch(text):
        return int(text)
    row.reasons.append(_("Quantity “%(text)s” is not a whole number.", text=text) if text
                       else _("Quantity is required."))
    return 1  # a stand-in, so the order's other checks still run and report too


def _order_values(rows: list[Row], external_id: str) -> dict[str, str]:
    """Order-level values: each the first row's that has one; a row saying otherwise is wrong."""
    if len(rows) == 1:
        return {name: rows[0].values.get(name, "") for name in ORDER_FIELDS}
    values = {}
    for name in ORDER_FIELDS:
        first = None
        for row in rows:
            value = row.values.get(name, "")
            if not value:
                continue
            if first is None:
                first = (row.line, value)
            elif value != first[1]:
                row.reasons.append(_(
                    "%(column)s “%(value)s” differs from “%(first)s” on line %(line)s: "
                    "every row of order %(order)s must agree.", column=label(name),
                    value=value, first=first[1], line=first[0], order=external_id))
        values[name] = first[1] if first else ""
    return values


def build_order(rows: list[Row], currency: str = "MAD") -> FileOrder:
    """The order a group of rows makes; what cannot be read is noted on its row."""
    external_id = rows[0].values.get("order_id", "")
    values = _order_values(rows, external_id)
    lines, seen = [], {}
    for row in rows:
        sku = row.values.get("sku", "")
        if sku and sku in seen:
            row.reasons.append(_("SKU %(sku)s is already on line %(line)s of this order: "
                                 "put the whole quantity on one row.",
                                 sku=sku, line=seen[sku]))
        seen.setdefault(sku, row.line)
        lines.append(IncomingLine(sku=sku, quantity=_quantity(row),
                                  unit_price_cents=_amount(row, "unit_price")))
    cod_row = next((r for r in rows if r.values.get("cod_amount")), rows[0])
    incoming = IncomingOrder(
        external_id=external_id, customer_name=values["customer_name"], phone=values["phone"],
        lines=lines, address=values["address"], city=values["city"], region=values["region"],
        cod_amount_cents=_amount(cod_row, "cod_amount"),
        currency=values["currency"] or currency, shipping_method=values["shipping_method"],
        note=values["note"])
    return FileOrder(external_id, rows, incoming)


LINE_FIELD = re.compile(r"lines\[(\d+)\]")


def add_problems(order: FileOrder, problems: list[Problem]) -> None:
    """Put the intake door's problems on the rows they are about (the rest on the order)."""
    for problem in problems:
        match = LINE_FIELD.match(problem.field)
        if match and int(match.group(1)) < len(order.rows):
            order.rows[int(match.group(1))].reasons.append(problem.message)
        elif problem.message not in order.reasons:
            order.reasons.append(problem.message)


def check_orders(orders: list[FileOrder], catalogue: Catalogue, region: str) -> None:
    """Run the intake door's checks on each order, as create_orders will."""
    for order in orders:
        add_problems(order, check_order(order.incoming, catalogue, region))


# -- files we hand out -------------------------------------------------------------------------

def neutralise(value: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def write_csv(rows, delimiter: str = ",") -> str:
    """Rows as CSV text with a byte order mark, so Excel reads UTF-8 (Arabic names) right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def template_csv() -> str:
    """The header and one example order of two lines."""
    return write_csv([FIELDS, *EXAMPLE_ROWS])


def refused_rows_csv(csv_file: CsvFile, reasons: dict[int, list[str]]) -> str:
    """The refused rows as uploaded, each followed by its line number and reasons."""
    width = len(csv_file.header)

    def rows():
        # Our two columns in the reader's language; a re-upload ignores them either way.
        yield [neutralise(h) for h in csv_file.header] + [_("line"), _("reasons")]
        for line, cells in csv_file.records():
            if line in reasons:
                cells = (cells + [""] * width)[:max(width, len(cells))]
                yield [neutralise(c) for c in cells] + [str(line),
                                                        neutralise(" ".join(reasons[line]))]

    return write_csv(rows(), csv_file.delimiter)
