"""The CSV-file supplier: the purchase-order file it makes, its delivery to a drop URL, and
the status files suppliers send back, in the encodings and separators they use."""

import csv
import hashlib
import io
import re

import pytest
import requests

from tests.workers.carriers.peer import Peer, Reply
from workers.suppliers import (
    ACCEPTED,
    CANCELED,
    REJECTED,
    SHIPPED,
    SUBMITTED,
    StatusFile,
    SupplierConfig,
    adapter_for,
)
from workers.suppliers.csv_file import CsvFileSupplier, check_settings

from .orders import purchase_order

HEADER = ["reference", "idempotency_key", "supplier_sku", "sku", "name", "quantity",
          "unit_cost", "customer_name", "phone", "address", "city", "region",
          "shipping_method"]


@pytest.fixture
def http():
    """One HTTP session per test, closed so no socket outlives it."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def peer():
    """A local drop URL on 127.0.0.1."""
    with Peer.running() as running:
        yield running


def make(http=None, *, drop_url: str | None = None, **changes) -> CsvFileSupplier:
    """The "Dépôt Casa Import" file supplier, posting to drop_url when given."""
    values = dict(id=7, name="Dépôt Casa Import", kind="csv", api_key="casa-drop-token",
                  settings={"drop_url": drop_url} if drop_url else {}, timeout=2.0)
    values.update(changes)
    return adapter_for(SupplierConfig(**values), http)


def rows_of(text: str) -> list[list[str]]:
    """A purchase file's rows, as a spreadsheet reads them (byte order mark dropped)."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


# --- the purchase-order file ----------------------------------------------------------


def test_submit_makes_one_file_for_the_batch_and_every_order_is_submitted(http):
    """One row per line, the cost in decimal units; all orders SUBMITTED, nothing delivered."""
    submission = make(http).submit([purchase_order(1), purchase_order(2, city="Fès")])
    assert [(r.supplier_order_id, r.outcome) for r in submission.replies] == [
        (1, SUBMITTED), (2, SUBMITTED)]
    assert re.fullmatch(r"po-depot-casa-import-\d{8}-\d{6}\.csv", submission.file_name)
    assert not submission.delivered and submission.delivery_error == ""
    rows = rows_of(submission.file_body)
    assert rows[0] == HEADER
    assert rows[1] == ["#1201-1", "cbs-so-1-k1", "ATL-SW-X8U", "WATCH-X8", "Montre X8 Ultra",
                       "2", "129.50", "Salma Idrissi", "'+212612345678",
                       "12 rue des Fleurs, Agdal", "Rabat", "Rabat-Salé-Kénitra", "Standard"]
    assert [row[0] for row in rows[1:]] == ["#1201-1", "#1201-1", "#1202-2", "#1202-2"]
    assert rows[2][6] == "210.00" and rows[3][10] == "Fès"


def test_submit_file_cells_never_run_as_formulas(http):
    """Text a customer typed that a spreadsheet would run is written as plain text."""
    order = purchase_order(customer_name='=HYPERLINK("http://evil.example","Click")',
                           address="@SUM(A1:A9)", city="-2+3", region="\tTab")
    row = rows_of(make(http).submit([order]).file_body)[1]
    assert row[7] == "'=HYPERLINK(\"http://evil.example\",\"Click\")"
    assert (row[9], row[10], row[11]) == ("'@SUM(A1:A9)", "'-2+3", "'\tTab")


def test_submit_file_name_of_a_supplier_without_latin_letters(http):
    """A name with no ASCII letters still gives a file name."""
    submission = make(http, name="مورد الدار البيضاء").submit([purchase_order()])
    assert submission.file_name.startswith("po-supplier-7-")


def test_submit_nothing_makes_no_file(http):
    """An empty batch: no file, no replies."""
    submission = make(http).submit([])
    assert submission.replies == [] and submission.file_name is None


# --- delivery to a drop URL -------------------------------------------------------------


def test_submit_posts_the_file_to_the_drop_url(peer, http):
    """The file goes as text/csv with a batch key and the bearer token: delivered."""
    peer.on("POST", "/drop/po", Reply(201, json={"received": True}))
    orders = [purchase_order(1), purchase_order(2)]
    submission = make(http, drop_url=f"{peer.url}/drop/po").submit(orders)
    assert submission.delivered and submission.delivery_error == ""
    [sent] = peer.seen("POST", "/drop/po")
    assert sent.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert sent.headers["Authorization"] == "Bearer casa-drop-token"
    assert sent.body == submission.file_body.encode("utf-8")
    expected = hashlib.sha256(b"cbs-so-1-k1\ncbs-so-2-k1").hexdigest()
    assert sent.headers["Idempotency-Key"] == expected
    # The same orders in another order are the same batch.
    make(http, drop_url=f"{peer.url}/drop/po").submit(list(reversed(orders)))
    assert peer.seen("POST", "/drop/po")[1].headers["Idempotency-Key"] == expected


@pytest.mark.parametrize("reply, error", [
    (Reply(500), "answered HTTP 500"),
    (Reply(403, json={"error": "token expired"}), "refused our API key (HTTP 403): token expired"),
    (Reply(413, json={"message": "File too large"}), "refused (HTTP 413): File too large"),
    (Reply(201, delay=4.0), "did not answer within 2 s"),
])
def test_submit_drop_failure_keeps_the_file_and_says_why(peer, http, reply, error):
    """A file the drop URL did not take: still made and downloadable, orders SUBMITTED."""
    peer.on("POST", "/drop/po", reply)
    submission = make(http, drop_url=f"{peer.url}/drop/po").submit([purchase_order()])
    assert not submission.delivered and error in submission.delivery_error
    assert "casa-drop-token" not in submission.delivery_error
    assert submission.file_body and [r.outcome for r in submission.replies] == [SUBMITTED]


def test_check_settings_wants_an_http_drop_url_or_none():
    """drop_url is optional, and a web address when set."""
    assert check_settings({}) == [] and check_settings({"drop_url": ""}) == []
    assert check_settings({"drop_url": "https://casa.example/po"}) == []
    assert "drop_url is an https:// address" in check_settings({"drop_url": "ftp://x"})[0]
    assert "Unknown setting “email”" in check_settings({"email": "a@b.c"})[0]


# --- status files -----------------------------------------------------------------------


def status_file(text: str, encoding: str = "utf-8", separator: str = ",") -> bytes:
    """A status file as the supplier's spreadsheet saved it."""
    return text.replace(",", separator).encode(encoding)


FRENCH = ("Référence,Statut,Numéro de suivi,Transporteur,Message\r\n"
          "#1201-1,Expédié,CTM123456789MA,CTM Messagerie,\r\n"
          "1202-2,refusé,,,Adresse incomplète à Fès\r\n"
          "#1203-3,Annulée,,,\r\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_read_status_file_in_each_encoding_and_separator(encoding, separator):
    """French headers and statuses, accents intact, whatever Excel saved it as."""
    read = make().read_status_file(status_file(FRENCH, encoding, separator))
    assert read.errors == []
    assert [(ref, r.outcome) for ref, r in read.replies] == [
        ("#1201-1", SHIPPED), ("#1202-2", REJECTED), ("#1203-3", CANCELED)]
    shipped, refused = read.replies[0][1], read.replies[1][1]
    assert (shipped.tracking_number, shipped.carrier) == ("CTM123456789MA", "CTM Messagerie")
    assert refused.message == "Adresse incomplète à Fès"


@pytest.mark.parametrize("written, outcome", [
    ("accepted", ACCEPTED), ("Confirmed", ACCEPTED), ("ACCEPTÉ", ACCEPTED),
    ("shipped", SHIPPED), ("dispatched", SHIPPED), ("expédiée", SHIPPED),
    ("rejected", REJECTED), ("Refused", REJECTED), ("error", REJECTED), ("Refusé", REJECTED),
    ("canceled", CANCELED), ("Cancelled", CANCELED), ("annulé", CANCELED),
])
def test_read_status_file_understands_each_status_word(written, outcome):
    """English and French status words, any case, with or without accents."""
    data = f"reference,status,tracking_number\n#1201-1,{written},SBX0000000001\n".encode()
    [(reference, reply)] = make().read_status_file(data).replies
    assert (reference, reply.outcome) == ("#1201-1", outcome)


def test_read_status_file_bad_rows_are_named_by_line_and_the_rest_is_read():
    """Each bad row has its line (header = 1) and why; good rows still count."""
    data = (b"reference,status,tracking_number,message\n"
            b"#1201-1,shipped,,\n"  # line 2: no tracking
            b"#1202-2,perdu,,\n"  # line 3: unknown status
            b"\n"  # line 4: blank, skipped
            b'#1203-3,accepted,,"Note sur\ndeux lignes"\n'  # lines 5-6
            b",accepted,,\n"  # line 7: no reference
            b"PO-99,accepted,,\n"  # line 8: not our reference
            b"#1204-4,,,\n"  # line 9: no status
            b"#1205-5,refused,,\n")  # line 10: refused without a reason
    read = make().read_status_file(data)
    assert [line for line, _ in read.errors] == [2, 3, 7, 8, 9]
    reasons = dict(read.errors)
    assert "needs its tracking number" in reasons[2]
    assert "Status “perdu” is not one we know" in reasons[3]
    assert "reference is empty" in reasons[7]
    assert "Reference “PO-99” is not one of ours" in reasons[8]
    assert "status is empty" in reasons[9]
    assert [(ref, r.outcome) for ref, r in read.replies] == [
        ("#1203-3", ACCEPTED), ("#1205-5", REJECTED)]
    assert read.replies[0][1].message == "Note sur\ndeux lignes"
    assert read.replies[1][1].message == ("Refused in Dépôt Casa Import's status file, "
                                          "without a reason.")


@pytest.mark.parametrize("data, reason", [
    (b"", "The file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "Missing columns: reference, status"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "Missing columns"),
    (b"reference;tracking_number\n#1201-1;X\n", "Missing columns: status"),
    (b"status,statut,reference\nshipped,shipped,#1-1\n", "Two columns both mean status"),
])
def test_read_status_file_that_cannot_be_read_is_one_error_on_line_1(data, reason):
    """Not a status file at all: one error for line 1, never an exception."""
    read = make().read_status_file(data)
    assert read.replies == [] and len(read.errors) == 1
    line, why = read.errors[0]
    assert line == 1 and reason in why


def test_read_status_file_broken_quoting_keeps_the_rows_before_it():
    """A quote never closed: the rows before it count, the break is named by its line."""
    data = (b"reference,status,tracking_number\n#1201-1,accepted,\n"
            b'#1202-2,shipped,"SBX1\n' + b"x" * 200_000)
    read = make().read_status_file(data)
    assert isinstance(read, StatusFile)
    assert [ref for ref, _ in read.replies] == ["#1201-1"]
    assert read.errors and read.errors[0][0] == 3
