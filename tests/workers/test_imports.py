"""CSV import jobs through a real RQ worker: the check's counts, report and preview, the
import through the intake door, running twice, re-uploads, and progress on a big file."""

from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from extensions import db
from models import AuditEvent, CsvImport, Order, OrderLine, Product
from workers.imports import (
    begin_import,
    check_csv,
    check_job_id,
    import_csv,
    import_job_id,
    store_upload,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
MIXED = (FIXTURES / "good_bad_duplicate.csv").read_bytes()
EXPECTED_REJECTS = [
    {"line": 4, "order_id": "B2", "reasons": ["Quantity “deux” is not a whole number."]},
    {"line": 7, "order_id": "B2", "reasons": ["Unknown SKU “NOPE”."]},
    {"line": 8, "order_id": "D4", "reasons": [
        "“12” is not a phone number.",
        "COD amount “12,5O” is not an amount (write 149.00 or 149,00)."]},
    {"line": 9, "order_id": "E5", "reasons": [
        "Refused with the rest of its order: see line 10."]},
    {"line": 10, "order_id": "E5", "reasons": [
        "SKU TSHIRT-M is already on line 9 of this order: put the whole quantity on one row."]},
    {"line": 11, "order_id": "F6", "reasons": [
        "Refused with the rest of its order: see line 12."]},
    {"line": 12, "order_id": "F6", "reasons": [
        "Phone “0699999999” differs from “0611111111” on line 11: every row of order F6 "
        "must agree."]},
]


@pytest.fixture
def shop(make_channel, make_product):
    """A channel and the two products the fixture files sell."""
    make_product(sku="TSHIRT-M", name="T-shirt M", price_cents=14900)
    make_product(sku="CAP-BLACK", name="Black cap", price_cents=5000)
    return make_channel(name="Souk", code="souk")


@pytest.fixture
def upload(shop, run_jobs):
    """upload(content) -> an uploaded file's id, its check job run."""

    def make(content: bytes) -> int:
        import_id = store_upload(shop.id, "orders.csv", content, None)
        db.session.commit()
        check_csv.enqueue(import_id, job_id=check_job_id(import_id))
        run_jobs()
        return import_id

    return make


def stored(import_id: int) -> CsvImport:
    """The upload as the database has it now."""
    db.session.expire_all()
    return db.session.get(CsvImport, import_id)


def run_import(import_id: int, user_id: int | None, run_jobs) -> None:
    """Press Import once and let the worker run."""
    assert begin_import(import_id)
    db.session.commit()
    import_csv.enqueue(import_id, user_id, job_id=import_job_id(import_id))
    run_jobs()


def orders_of(channel) -> dict[str, Order]:
    """The channel's orders by external id."""
    db.session.expire_all()
    return {o.external_id: o for o in db.session.scalars(
        select(Order).where(Order.channel_id == channel.id))}


def test_check_stores_counts_the_exact_report_and_a_preview(upload, run_jobs):
    import_id = upload(MIXED)
    checked = stored(import_id)
    assert checked.state == "checked"
    assert (checked.encoding, checked.delimiter) == ("utf-8", ",")
    assert (checked.total_rows, checked.done_rows) == (10, 10)
    assert (checked.valid_orders, checked.rejected_rows, checked.existing_orders) == (2, 7, 0)
    assert checked.rejects == EXPECTED_REJECTS
    assert [(r["line"], r["order_id"], r["status"]) for r in checked.preview] == [
        (2, "A1", "ok"), (3, "A1", "ok"), (4, "B2", "refused"), (5, "C3", "ok"),
        (7, "B2", "refused"), (8, "D4", "refused"), (9, "E5", "refused"),
        (10, "E5", "refused"), (11, "F6", "refused"), (12, "F6", "refused")]
    c3 = checked.preview[3]
    assert (c3["customer_name"], c3["reasons"]) == ("Youssef, the neighbour", [])
    assert checked.preview[2]["reasons"] == ["Quantity “deux” is not a whole number."]


def test_check_writes_no_order(upload, run_jobs, shop):
    upload(MIXED)
    assert orders_of(shop) == {}


def test_import_creates_the_ready_orders_through_the_door(upload, run_jobs, shop, make_user):
    operator = make_user("operator")
    import_id = upload(MIXED)
    run_import(import_id, operator.id, run_jobs)
    done = stored(import_id)
    assert done.state == "imported" and done.finished_at is not None
    assert (done.created_orders, done.existing_orders, done.done_rows) == (2, 0, 10)
    assert done.rejects == EXPECTED_REJECTS
    orders = orders_of(shop)
    assert set(orders) == {"A1", "C3"}
    a1 = orders["A1"]
    assert [(line.sku, line.quantity, line.unit_price_cents) for line in a1.lines] == [
        ("TSHIRT-M", 2, 14900), ("CAP-BLACK", 1, 5000)]
    assert (a1.cod_amount_cents, a1.phone_normalized, a1.note) == (
        34800, "+212612345678", "Call after 18:00")
    assert orders["C3"].address == "Appt 4,\nRésidence Atlas"
    assert orders["C3"].cod_amount_cents == 3 * 5000
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.order_id == a1.id)).all()
    assert [(e.kind, e.actor_name) for e in events] == [("import", operator.username)]


def test_the_import_job_run_again_creates_nothing_twice(upload, run_jobs, shop):
    import_id = upload(MIXED)
    run_import(import_id, None, run_jobs)
    import_csv(import_id)  # a duplicate delivery after it finished: nothing to do
    # As if a killed job were retried from the start: every order is found, none made again.
    db.session.execute(update(CsvImport).where(CsvImport.id == import_id).values(
        state="importing", done_rows=0, created_orders=0, existing_orders=0))
    db.session.commit()
    import_csv(import_id)
    again = stored(import_id)
    assert (again.state, again.created_orders, again.existing_orders) == ("imported", 0, 2)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2
    assert db.session.scalar(select(func.count()).select_from(OrderLine)) == 3


def test_a_second_import_click_starts_nothing(upload, run_jobs):
    import_id = upload(MIXED)
    assert begin_import(import_id)
    db.session.commit()
    assert not begin_import(import_id)


def test_uploading_the_same_file_again_creates_nothing_and_says_so(upload, run_jobs, shop):
    first = upload(MIXED)
    run_import(first, None, run_jobs)
    second = upload(MIXED)
    checked = stored(second)
    assert (checked.valid_orders, checked.existing_orders, checked.rejected_rows) == (0, 2, 7)
    assert {r["status"] for r in checked.preview if r["order_id"] in ("A1", "C3")} == {
        "existing"}
    assert not begin_import(second)  # nothing left to import
    assert len(orders_of(shop)) == 2


def test_an_order_the_door_refuses_at_import_joins_the_report(upload, run_jobs, shop):
    import_id = upload(MIXED)
    db.session.execute(update(Product).where(Product.sku == "CAP-BLACK").values(active=False))
    db.session.commit()
    run_import(import_id, None, run_jobs)
    done = stored(import_id)
    assert done.created_orders == 0  # A1 and C3 both sell the cap
    assert [(r["line"], r["order_id"], r["reasons"]) for r in done.rejects
            if r["order_id"] in ("A1", "C3")] == [
        (2, "A1", ["Refused with the rest of its order: see line 3."]),
        (3, "A1", ["Unknown SKU “CAP-BLACK”."]),
        (5, "C3", ["Unknown SKU “CAP-BLACK”."])]
    assert done.rejected_rows == 10
    assert orders_of(shop) == {}


def test_a_file_without_its_columns_fails_with_the_reason(upload, run_jobs):
    import_id = upload(b"name;phone\nAmal;0612345678\n")
    failed = stored(import_id)
    assert failed.state == "failed"
    assert failed.error.startswith("Missing columns: order_id, customer_name, address, city")


@pytest.fixture
def progress_writes(app):
    """Every done_rows value the jobs write to csv_imports, in order."""
    seen: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE CSV_IMPORTS"):
            values = context.compiled_parameters[0]
            if "done_rows" in values:
                seen.append(values["done_rows"])

    event.listen(db.engine, "after_cursor_execute", record)
    yield seen
    event.remove(db.engine, "after_cursor_execute", record)


def big_file(orders: int) -> bytes:
    """Orders of two rows each, every fifth order with an unknown SKU."""
    rows = ["order_id;customer_name;telephone;adresse;ville;produit;quantité"]
    for n in range(orders):
        sku = "NOPE" if n % 5 == 4 else "CAP-BLACK"
        phone = f"06{n % 10_000_000:08d}"
        rows.append(f"W{n};Client {n};{phone};{n} Rue Atlas;Casablanca;TSHIRT-M;1")
        rows.append(f"W{n};Client {n};{phone};{n} Rue Atlas;Casablanca;{sku};2")
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.slow
def test_fifty_thousand_rows_checked_and_imported_with_progress(
        upload, run_jobs, shop, progress_writes):
    import_id = upload(big_file(25_000))
    checked = stored(import_id)
    assert (checked.total_rows, checked.done_rows) == (50_000, 50_000)
    assert (checked.valid_orders, checked.rejected_rows) == (20_000, 10_000)
    check_progress = list(progress_writes)
    assert check_progress[0] == 0 and check_progress[-1] == 50_000
    assert len(check_progress) > 3
    assert check_progress == sorted(set(check_progress))  # each chunk moves it forward

    progress_writes.clear()
    run_import(import_id, None, run_jobs)
    done = stored(import_id)
    assert (done.state, done.created_orders, done.done_rows) == ("imported", 20_000, 50_000)
    assert progress_writes[0] == 0 and progress_writes[-1] == 50_000  # 0: the button's reset
    assert len(progress_writes) > 3 and progress_writes == sorted(set(progress_writes))
    assert db.session.scalar(select(func.count()).select_from(OrderLine)) == 40_000
