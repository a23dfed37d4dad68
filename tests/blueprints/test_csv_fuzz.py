"""Every CSV importer against generated files: random bytes, five encodings, four separators,
empty, one byte, header only, thousands of rows and over the size limit.

Whatever the file, the answer is a per-row report or a 4xx saying why, never a 5xx; and what
is stored is exactly what the report accepted (a file refused as a whole stores nothing).
"""

import csv
import io
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from extensions import db
from models import CsvImport, Order, RemittanceLine, RemittanceStatement
from models.catalog.products import SupplierSku
from models.intake.csvfile import FIELDS

from .dropship_support import words
from .test_csv_import import send

pytestmark = pytest.mark.slow

ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1256")
DELIMITERS = (",", ";", "\t", "|")
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
LIMIT = 50 * 1024 * 1024  # the upload size the importers take (blueprints/intake/forms.py)
REFUSED = (400, 409, 413, 415, 422)

noise = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


def table(cells: dict[str, st.SearchStrategy], max_rows: int = 12):
    """(header maybe shuffled or cut, rows of cells) for one importer's columns; each column's
    cells are mostly values it accepts, sometimes noise, and a row may run one cell long."""
    header = list(cells)
    # Mostly the importer's own columns, so that most files reach the per-row checks.
    columns = st.one_of(st.just(header), st.just(header), st.permutations(header),
                        st.lists(st.sampled_from(header), max_size=len(header)),
                        st.lists(noise, max_size=5))

    def rows(cols):
        row = st.tuples(*(cells.get(c, noise) for c in cols), st.lists(noise, max_size=1))
        return st.lists(row.map(lambda r: [*r[:-1], *r[-1]]), max_size=max_rows)

    return columns.flatmap(lambda cols: st.tuples(st.just(cols), rows(cols)))


def mostly(*good: str) -> st.SearchStrategy[str]:
    """One of these values, or now and then anything."""
    return st.one_of(*[st.sampled_from(good)] * 5, noise)


def encoded(header_and_rows, encoding: str, delimiter: str, quoted: bool) -> bytes:
    """The rows as a file: written by a CSV writer, or joined naively (stray quotes)."""
    header, rows = header_and_rows
    if quoted:
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
        text = out.getvalue()
    else:
        text = "".join(delimiter.join(row) + "\n" for row in [header, *rows])
    return text.encode(encoding, errors="replace")


def files(cells: dict[str, st.SearchStrategy]) -> st.SearchStrategy[bytes]:
    """Files an importer may be sent: structured, random bytes, empty, one byte, header only."""
    structured = st.builds(encoded, table(cells), st.sampled_from(ENCODINGS),
                           st.sampled_from(DELIMITERS), st.booleans())
    plain = st.builds(encoded, table(cells), st.just("utf-8"), st.just(","), st.just(True))
    return st.one_of(plain, structured, structured, st.binary(max_size=400), st.just(b""),
                     st.binary(min_size=1, max_size=1), st.just(",".join(cells).encode()))


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def multipart(fields: dict, content: bytes, name: str = "file.csv"):
    """A multipart body built in memory (the test client spools big ones to open files)."""
    boundary, body = encode_multipart({**fields, "file": FileStorage(io.BytesIO(content), name)})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def assert_no_server_error(resp) -> None:
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]


def assert_refusal_says_why(resp) -> None:
    assert resp.status_code in REFUSED, resp.status_code
    body = resp.get_data(as_text=True)
    assert re.search(r'role="alert"|class="[^"]*(error|problem)', body), body[:500]


# --- SKU mappings (dropship) --------------------------------------------------------------

SKU_CELLS = {"sku": mostly("MUG-1", "TEA-1", "NOPE-9", ""),
             "supplier_sku": mostly("S-1", "S-2", ""),
             "cost": mostly("12.50", "", "abc", "-3", "1e9"),
             "shipping_method": mostly("Express", "", "=1+1")}
ADDED = re.compile(r"([\d,]+) added, ([\d,]+) updated, ([\d,]+) unchanged, ([\d,]+) refused")


@pytest.fixture
def supplier_page(login, make_supplier, make_product):
    """(manager client, upload URL) for a supplier whose catalogue has two products."""
    make_product(sku="MUG-1", stock=0)
    make_product(sku="TEA-1", stock=0)
    supplier = make_supplier(name="Atlas Wholesale")
    return login("manager"), f"/dropship/suppliers/{supplier.id}/skus/upload"


def upload_mappings(supplier_page, content: bytes):
    """Send one mapping file; check the report against what was stored."""
    c, url = supplier_page
    before = count(SupplierSku)
    resp = c.post(url, htmx=True, **multipart({}, content))
    assert_no_server_error(resp)
    after = count(SupplierSku)
    if resp.status_code != 200:
        assert_refusal_says_why(resp)
        assert "Nothing was changed." in resp.get_data(as_text=True)
        assert after == before
        return resp
    report = ADDED.search(words(resp))
    assert report, words(resp)[:500]
    added = int(report.group(1).replace(",", ""))
    assert after - before == added
    return resp


@FUZZ
@given(content=files(SKU_CELLS))
@example(content="sku;supplier_sku;cost\nMUG-1;S-1;12,50\nNOPE-9;S-2;1\n".encode("cp1256"))
def test_sku_mapping_files_get_a_report_or_a_clear_refusal(app, supplier_page, content):
    upload_mappings(supplier_page, content)


# --- remittance statements (boards / money) ----------------------------------------------

STATEMENT_CELLS = {"tracking_number": mostly("SBX1", "SBX2", "NOPE", ""),
                   "amount": mostly("129.00", "15,00", "x", "-5"),
                   "fees": mostly("15.00", "", "x"),
                   "payout_date": mostly("2026-11-20", "20/11/2026", "")}
LINE = re.compile(r'data-line="\d+" data-outcome="')


@pytest.fixture
def statement_page(login, make_carrier, make_order):
    """(manager client, carrier) with two delivered parcels a statement can name."""
    from models import Parcel

    carrier = make_carrier(name="Amana Express")
    for n, tracking in enumerate(("SBX1", "SBX2")):
        order = make_order(carrier=carrier, confirmation_status="confirmed",
                           shipping_status="delivered")
        db.session.add(Parcel(order_id=order.id, carrier_id=carrier.id,
                              tracking_number=tracking, idempotency_key=f"fuzz-{n}"))
    db.session.commit()
    return login("manager"), carrier


def upload_statement(statement_page, content: bytes):
    """Send one statement; the lines stored are the lines the report lists as read."""
    c, carrier = statement_page
    before = (count(RemittanceStatement), count(RemittanceLine))
    fields = {"carrier_id": str(carrier.id), "tracking_number": "tracking_number",
              "amount": "amount", "fees": "fees", "payout_date": "payout_date",
              "reference": "", "action": "import"}
    resp = c.post("/boards/money/remittances", htmx=True, **multipart(fields, content))
    assert_no_server_error(resp)
    after = (count(RemittanceStatement), count(RemittanceLine))
    if resp.status_code != 200:
        assert_refusal_says_why(resp)
        assert after == before
        return resp
    body = resp.get_data(as_text=True)
    if "already imported" in body:
        assert after == before
    else:
        assert after[1] - before[1] == len(LINE.findall(body))
        assert after[0] - before[0] == (1 if after[1] > before[1] else 0)
    return resp


@FUZZ
@given(content=files(STATEMENT_CELLS))
@example(content="tracking_number\tamount\tfees\tpayout_date\nSBX1\t129.00\t15.00\t"
                 "2026-11-20\nNOPE\tx\t0\t2026-11-20\n".encode("utf-16"))
def test_statement_files_get_a_report_or_a_clear_refusal(app, statement_page, content):
    upload_statement(statement_page, content)


# --- orders (intake, checked and imported by jobs on a real worker) ----------------------

ORDER_CELLS = {**dict.fromkeys(FIELDS, mostly("")),
               "order_id": mostly("1001", "1002", "1003"),
               "customer_name": mostly("Salma Idrissi", "Karim"),
               "phone": mostly("0612345678", "0612345679", "x"),
               "address": mostly("12 rue Fes"), "city": mostly("Casablanca", "Rabat"),
               "sku": mostly("MUG-1", "NOPE-9"), "quantity": mostly("1", "2", "0", "x"),
               "unit_price": mostly("129.00", ""), "cod_amount": mostly("", "129.00", "=1"),
               "currency": mostly("MAD", "")}


@pytest.fixture
def intake(login, make_channel, make_product):
    """(operator client, channel) with the product the files name."""
    make_product(sku="MUG-1", price_cents=12900, stock=0)
    return login("operator"), make_channel(name="Souk", code="souk")


def import_orders(intake, run_jobs, content: bytes):
    """Upload, check, import what the check accepted; orders stored == orders accepted."""
    c, channel = intake
    uploads, orders = count(CsvImport), count(Order)
    resp = send(c, channel, content)
    assert_no_server_error(resp)
    if resp.status_code != 303:
        assert_refusal_says_why(resp)
        assert (count(CsvImport), count(Order)) == (uploads, orders)
        return
    run_jobs()
    preview = c.get(resp.headers["Location"])
    assert preview.status_code == 200
    upload = db.session.scalars(select(CsvImport).order_by(CsvImport.id.desc())).first()
    assert upload.state in ("checked", "failed"), upload.state
    if upload.state == "failed":
        assert upload.error and count(Order) == orders
        return
    started = c.post(f"/intake/csv/{upload.id}/import")
    assert_no_server_error(started)
    run_jobs()
    db.session.rollback()
    upload = db.session.get(CsvImport, upload.id)
    if upload.valid_orders == 0:
        assert count(Order) == orders
        return
    assert upload.state == "imported", (upload.state, upload.error)
    assert upload.created_orders + upload.existing_orders == upload.valid_orders
    assert count(Order) - orders == upload.created_orders


@FUZZ
@given(content=files(ORDER_CELLS))
@example(content=("order_id,customer_name,phone,address,city,sku,quantity\n"
                  "1001,Salma Idrissi,0612345678,12 rue Fes,Casablanca,MUG-1,2\n"
                  "1002,Karim,0612345679,1 rue Rabat,Rabat,NOPE-9,1\n").encode("utf-8-sig"))
def test_order_files_get_a_report_or_a_clear_refusal(app, intake, run_jobs, content):
    import_orders(intake, run_jobs, content)


# --- sizes: thousands of rows, and over the limit ------------------------------------------


def test_thousands_of_mapping_rows_are_all_reported(supplier_page, make_product):
    rows = ["sku,supplier_sku,cost"] + [f"MUG-1,S-{n},1.00" if n == 0 else f"X-{n},S-{n},1"
                                        for n in range(3000)]
    resp = upload_mappings(supplier_page, "\n".join(rows).encode())
    assert resp.status_code == 200
    assert "1 added, 0 updated, 0 unchanged, 2,999 refused" in words(resp)


def test_thousands_of_order_rows_are_checked_and_imported(intake, run_jobs):
    header = ",".join(FIELDS)
    values = {"customer_name": "Salma", "phone": "0612345678", "address": "12 rue Fes",
              "city": "Casablanca", "sku": "MUG-1", "quantity": "1", "currency": "MAD"}
    rows = [",".join(values.get(f, str(1000 + n) if f == "order_id" else "") for f in FIELDS)
            for n in range(3000)]
    import_orders(intake, run_jobs, "\n".join([header, *rows]).encode())
    assert count(Order) == 3000


BIG = b"sku,supplier_sku\n" + b"MUG-1,S-1\n" * (LIMIT // 10 + 1)


def assert_too_big(resp) -> None:
    assert len(BIG) > LIMIT
    assert resp.status_code in REFUSED
    assert "50 MB" in words(resp), words(resp)[:300]


def test_an_order_file_over_the_limit_is_refused_whole(intake):
    assert_too_big(send(intake[0], intake[1], BIG))
    assert count(CsvImport) == 0


def test_a_mapping_file_over_the_limit_is_refused_whole(supplier_page):
    assert_too_big(upload_mappings(supplier_page, BIG))


def test_a_statement_over_the_limit_is_refused_whole(statement_page):
    assert_too_big(upload_statement(statement_page, BIG))
