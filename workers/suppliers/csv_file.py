"""A supplier that works with files: a purchase-order CSV goes out, a status CSV comes back.

submit() makes one purchase-order file for the whole batch, one row per line, and
every order in it is SUBMITTED: the file can be downloaded and sent by hand. When
settings["drop_url"] is set the file is also POSTed there (text/csv; Idempotency-Key =
a hash of the orders' keys, so a re-post of the same batch is recognisable; the API key
as a bearer token); a failed post is reported in the Submission, never raised.

read_status_file() reads what the supplier sends back: one row per supplier order with
its status, and a tracking number once shipped. Decoding (UTF-8 with or without a byte
order mark, Windows-1252 / Latin-1, Arabic Windows-1256) and separators (comma,
semicolon, tab) are those of order uploads (models/intake/csvfile.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

from flask_babel import gettext as _

from models.intake.csvfile import (
    CsvFile,
    CsvFileError,
    detect_encoding,
    header_field,
    neutralise,
    sniff_delimiter,
    write_csv,
)
from models.text import without_accents

from .base import (
    ACCEPTED,
    CANCELED,
    REJECTED,
    SHIPPED,
    SUBMITTED,
    PurchaseOrder,
    StatusFile,
    Submission,
    SupplierError,
    SupplierReply,
)
from .http import HttpSupplier

PURCHASE_COLUMNS = ("reference", "idempotency_key", "supplier_sku", "sku", "name", "quantity",
                    "unit_cost", "customer_name", "phone", "address", "city", "region",
                    "shipping_method")
STATUS_COLUMNS = ("reference", "status", "tracking_number", "carrier", "message")
STATUS_REQUIRED = ("reference", "status")
# Status-file headers, folded (lower case, no accents, words joined by "_"), -> ours.
HEADERS = {
    "reference": "reference", "ref": "reference", "order_reference": "reference",
    "status": "status", "statut": "status", "etat": "status",
    "tracking_number": "tracking_number", "tracking": "tracking_number",
    "numero_de_suivi": "tracking_number", "numero_suivi": "tracking_number",
    "suivi": "tracking_number",
    "carrier": "carrier", "transporteur": "carrier",
    "message": "message", "reason": "message", "motif": "message",
}
# Statuses a supplier writes, folded, -> ours. French ones in both genders (la commande).
STATUSES = {
    **dict.fromkeys(("accepted", "confirmed", "accepte", "acceptee", "confirme", "confirmee"),
                    ACCEPTED),
    **dict.fromkeys(("shipped", "dispatched", "expedie", "expediee"), SHIPPED),
    **dict.fromkeys(("rejected", "refused", "error", "refuse", "refusee", "erreur"), REJECTED),
    **dict.fromkeys(("canceled", "cancelled", "annule", "annulee"), CANCELED),
}
REFERENCE = re.compile(r"#?(\d+-\d+)")
SETTINGS_KEYS = ("drop_url",)
DEFAULT_SETTINGS = {"drop_url": ""}


def check_settings(settings) -> list[str]:
    """What is wrong with these settings, in words a manager can act on ([] when fine)."""
    if not isinstance(settings, dict):
        return [_("The settings must be a JSON object, like the example.")]
    problems = [_("Unknown setting “%(key)s”: the only one is drop_url.", key=key)
                for key in settings if key not in SETTINGS_KEYS]
    drop_url = settings.get("drop_url", "")
    if not isinstance(drop_url, str) or (
            drop_url.strip() and not drop_url.strip().startswith(("http://", "https://"))):
        problems.append(_("drop_url is an https:// address where each purchase file is "
                          "POSTed, or empty to download the files and send them yourself."))
    return problems


def fold(text: str) -> str:
    """Text as compared: lower case, no accents, words joined by "_"."""
    plain = without_accents(text)
    return "_".join(re.split(r"[\s_\-]+", plain.casefold().strip())).strip("_")


def slug(name: str) -> str:
    """A name fit for a file name: ASCII letters and digits joined by dashes ("" if none)."""
    plain = without_accents(name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40].strip("-")


def batch_key(orders: list[PurchaseOrder]) -> str:
    """The same orders, the same key: a hash of their idempotency keys, in any order."""
    keys = "\n".join(sorted(order.idempotency_key for order in orders))
    return hashlib.sha256(keys.encode()).hexdigest()


def purchase_rows(orders: list[PurchaseOrder]):
    """The header, then one row per line; text cells kept from running as formulas."""
    yield PURCHASE_COLUMNS
    for order in orders:
        for line in order.lines:
            yield [neutralise(order.reference), neutralise(order.idempotency_key),
                   neutralise(line.supplier_sku), neutralise(line.sku), neutralise(line.name),
                   str(line.quantity),
                   str((Decimal(int(line.unit_cost_cents)) / 100).quantize(Decimal("0.01"))),
                   neutralise(order.customer_name), neutralise(order.phone),
                   neutralise(order.address), neutralise(order.city), neutralise(order.region),
                   neutralise(order.shipping_method)]


class CsvFileSupplier(HttpSupplier):
    """A supplier that takes purchase-order files and sends status files back."""

    kind = "csv"
    by_file = True

    # -- purchase orders out -------------------------------------------------------
    def file_name(self, at: datetime) -> str:
        """po-<supplier>-YYYYMMDD-HHMMSS.csv."""
        name = slug(self.config.name) or f"supplier-{self.config.id}"
        return f"po-{name}-{at:%Y%m%d-%H%M%S}.csv"

    def submit(self, orders: list[PurchaseOrder]) -> Submission:
        """One purchase file for the batch; every order SUBMITTED; posted to drop_url if set."""
        if not orders:
            return Submission(replies=[])
        name = self.file_name(datetime.now(UTC))
        # UTF-8 with a byte order mark, as every file codboard hands out: Excel then
        # shows accented and Arabic names right.
        body = write_csv(purchase_rows(orders))
        submission = Submission(
            replies=[SupplierReply(supplier_order_id=o.supplier_order_id, outcome=SUBMITTED)
                     for o in orders],
            file_name=name, file_body=body)
        drop_url = (self.config.settings or {}).get("drop_url")
        if isinstance(drop_url, str) and drop_url.strip():
            try:
                self._deliver(drop_url.strip(), name, body, orders)
                submission.delivered = True
            except SupplierError as exc:
                submission.delivery_error = exc.message
        return submission

    def _deliver(self, drop_url: str, name: str, body: str, orders: list[PurchaseOrder]) -> None:
        """POST the file to the supplier's drop URL; HttpFailure when it is not taken."""
        headers = {"Content-Type": "text/csv; charset=utf-8", "Idempotency-Key": batch_key(orders),
                   "Content-Disposition": f'attachment; filename="{name}"'}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        self.call("POST", self.url(drop_url), data=body.encode("utf-8"), headers=headers)

    # -- status files in -------------------------------------------------------------
    def read_status_file(self, data: bytes) -> StatusFile:
        """The replies a status file gives, by our reference, and each bad row with why.

        Never raises: a file that cannot be read at all is one error on line 1.
        """
        result = StatusFile(replies=[], errors=[])
        try:
            status_file = _open(data)
        except CsvFileError as exc:
            result.errors.append((1, str(exc)))
            return result
        last = 1
        try:
            for line, cells in status_file.records():
                last = line
                values = {name: cells[i].strip() if i < len(cells) else ""
                          for name, i in status_file.columns.items()}
                reference, reply, reasons = self._row(values)
                if reasons:
                    result.errors.append((line, " ".join(reasons)))
                else:
                    result.replies.append((reference, reply))
        except (CsvFileError, UnicodeDecodeError) as exc:
            reason = str(exc) if isinstance(exc, CsvFileError) else (
                _("The rest of the file is not text in one encoding."))
            result.errors.append((last + 1, reason))
        return result

    def _row(self, values: dict[str, str]) -> tuple[str, SupplierReply, list[str]]:
        """(our reference, the reply, reasons the row is wrong) of one status row."""
        reasons = []
        raw_reference, raw_status = values.get("reference", ""), values.get("status", "")
        match = REFERENCE.fullmatch(raw_reference.replace(" ", ""))
        if not raw_reference:
            reasons.append(_("The reference is empty."))
        elif not match:
            reasons.append(_("Reference “%(reference)s” is not one of ours: they look like "
                             "#1234-56.", reference=raw_reference))
        outcome = STATUSES.get(fold(raw_status))
        if not raw_status:
            reasons.append(_("The status is empty."))
        elif outcome is None:
            reasons.append(_("Status “%(status)s” is not one we know: write accepted, shipped, "
                             "rejected or canceled (or accepté, expédié, refusé, annulé).",
                             status=raw_status))
        tracking = values.get("tracking_number", "") or None
        if outcome == SHIPPED and not tracking:
            reasons.append(_("A shipped order needs its tracking number (column "
                             "tracking_number or numéro de suivi)."))
        message = values.get("message", "")
        if outcome == REJECTED and not message:
            message = f"Refused in {self.config.name}'s status file, without a reason."
        # Status files name orders by our reference; the caller finds the supplier order.
        reply = SupplierReply(supplier_order_id=0, outcome=outcome or "", message=message,
                              tracking_number=tracking,
                              carrier=values.get("carrier", "") or None)
        return (f"#{match.group(1)}" if match else raw_reference), reply, reasons


def _open(data: bytes) -> CsvFile:
    """The status file decoded, its separator found and its header mapped; CsvFileError if not."""
    encoding = detect_encoding(data)
    if encoding == "latin-1":
        # Windows Excel writes Windows-1252, Latin-1 plus curly quotes, € and dashes.
        try:
            data.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CsvFileError(_("The file is not text: is it a spreadsheet saved as .xlsx? Save "
                             "it as CSV.")) from exc
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = sniff_delimiter(first)
    try:
        header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    except csv.Error as exc:
        raise CsvFileError(_("The first line cannot be read: %(problem)s.",
                             problem=exc)) from exc
    if not any(cell.strip() for cell in header):
        raise CsvFileError(_("The file is empty: its first line must name the columns: "
                             "reference, status, tracking_number, carrier, message."))
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        column = HEADERS.get(fold(header_field(name)))
        if column is None:
            continue  # their own columns are ignored
        if column in columns:
            raise CsvFileError(_("Two columns both mean %(column)s: “%(one)s” and “%(other)s”. "
                                 "Keep one.", column=column, one=header[columns[column]],
                                 other=name.strip()))
        columns[column] = index
    absent = [name for name in STATUS_REQUIRED if name not in columns]
    if absent:
        raise CsvFileError(_("Missing columns: %(missing)s. The first line must name the "
                             "columns: %(columns)s.", missing=", ".join(absent),
                             columns="reference, status, tracking_number, carrier, message"))
    return CsvFile(data, encoding, delimiter, header, columns)
