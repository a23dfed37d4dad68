"""CSV upload pages: template, upload refusals, the preview a job fills in (polled), the
import button pressed once or twice, the refused rows file, and who may do any of it."""

import csv
import io
import re
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from extensions import db
from models import CsvImport, Order
from tests.blueprints.pages import squash, text
from tests.blueprints.test_carrier_settings import closed_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
MIXED = (FIXTURES / "good_bad_duplicate.csv").read_bytes()


@pytest.fixture
def shop(make_channel, make_product):
    """A channel and the two products the fixture file sells."""
    make_product(sku="TSHIRT-M", name="T-shirt M", price_cents=14900)
    make_product(sku="CAP-BLACK", name="Black cap", price_cents=5000)
    return make_channel(name="Souk", code="souk")


def send(c, channel, content: bytes, name: str = "orders.csv", **kwargs):
    """Post the upload form with a file.

    The body is encoded here, in memory: the test client spools big bodies to a temporary
    file it never closes.
    """
    boundary, body = encode_multipart({"channel": str(channel.id),
                                       "file": FileStorage(io.BytesIO(content), name)})
    return c.post("/intake/csv", data=body,
                  content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


def visible(resp) -> str:
    """The words of a page without its markup, as a reader sees them."""
    return squash(re.sub(r"<[^>]+>", " ", text(resp)))


def uploads() -> int:
    """CSV uploads stored."""
    return db.session.scalar(select(func.count()).select_from(CsvImport))


def checked(c, shop, run_jobs, content: bytes = MIXED) -> str:
    """Upload a file, run its check; the preview page's URL."""
    resp = send(c, shop, content)
    assert resp.status_code == 303, text(resp)
    run_jobs()
    return resp.headers["Location"]


# -- who --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/intake/csv"), ("POST", "/intake/csv"), ("GET", "/intake/csv/template.csv"),
    ("GET", "/intake/csv/{id}"), ("POST", "/intake/csv/{id}/import"),
    ("GET", "/intake/csv/{id}/rejects.csv")])
def test_agents_are_refused_every_csv_page(login, shop, method, path):
    c = login("agent")
    upload = CsvImport(channel_id=shop.id, filename="x.csv", content=MIXED, state="checked",
                       valid_orders=2)
    db.session.add(upload)
    db.session.commit()
    resp = c.open(path.format(id=upload.id), method=method,
                  headers={"X-CSRFToken": c.token()})
    assert resp.status_code == 403
    assert db.session.get(CsvImport, upload.id).state == "checked"


@pytest.mark.parametrize("role", ["operator", "manager", "admin"])
def test_operators_managers_and_admins_open_the_upload_page(login, shop, role):
    resp = login(role).get("/intake/csv")
    assert resp.status_code == 200
    assert "Import orders from CSV" in text(resp)


# -- template and upload page -----------------------------------------------------------------

def test_template_is_the_header_and_one_order_of_two_lines(login):
    resp = login("operator").get("/intake/csv/template.csv")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["order_id", "customer_name", "phone", "address", "city", "region", "sku",
                       "quantity", "unit_price", "cod_amount", "currency", "shipping_method",
                       "note"]
    assert [r[0] for r in rows[1:]] == ["1001", "1001"]
    assert [r[6] for r in rows[1:]] == ["TSHIRT-M", "CAP-BLACK"]


def test_upload_page_explains_each_column_and_offers_active_channels(login, shop, make_channel):
    make_channel(name="Closed shop", active=False)
    page = text(login("operator").get("/intake/csv"))
    assert "Souk" in page and "Closed shop" not in page
    for column in ("order_id", "unit_price", "cod_amount", "shipping_method"):
        assert f"<code>{column}</code>" in page
    assert "A whole number from 1 to 999." in page


def test_recent_uploads_show_who_when_channel_state_and_counts(login, make_user, shop, run_jobs):
    operator = make_user("operator", name="Youssef Amrani")
    c = login(operator)
    checked(c, shop, run_jobs)
    page = visible(c.get("/intake/csv"))
    assert "orders.csv Souk Youssef Amrani" in page
    assert "Checked 10 2 7 0 0" in page


# -- upload refusals --------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "status", "message"), [
    ("orders.csv", b"", 422, "“orders.csv” is empty."),
    ("orders.csv", b" \r\n\r\n", 422, "“orders.csv” is empty."),
    ("orders.xlsx", MIXED, 415, "“orders.xlsx” is not a CSV file."),
    ("orders.csv", b"PK\x03\x04\x14\x00\x06\x00", 415, "is an Excel workbook (.xlsx)"),
    ("orders.csv", "order_id,phone".encode("utf-16"), 415, "Unicode (UTF-16) text"),
    ("orders.csv", b"order_id\x00,phone\n", 415, "is not text"),
])
def test_upload_refuses_what_is_not_a_csv_and_stores_nothing(login, shop, name, content, status,
                                                             message):
    resp = send(login("operator"), shop, content, name=name)
    assert resp.status_code == status
    assert message in text(resp)
    assert uploads() == 0


def test_upload_refuses_a_file_over_fifty_megabytes(login, shop):
    resp = send(login("operator"), shop, MIXED + b" " * (50 * 2**20))
    assert resp.status_code == 413
    assert "larger than 50 MB" in text(resp)
    assert uploads() == 0


def test_upload_without_a_file_or_with_an_inactive_channel_asks_again(login, shop, make_channel):
    c = login("operator")
    no_file = c.post("/intake/csv", data={"channel": str(shop.id)},
                     content_type="multipart/form-data")
    assert no_file.status_code == 422 and "Choose a CSV file" in text(no_file)
    closed = make_channel(active=False)
    resp = send(c, closed, MIXED)
    assert resp.status_code == 422 and "Not a valid choice" in text(resp)
    assert uploads() == 0


def test_upload_with_the_queue_down_stores_nothing_and_says_so(app, login, shop, monkeypatch):
    c = login("operator")
    monkeypatch.setitem(app.extensions, "redis", Redis.from_url(
        f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1))
    resp = send(c, shop, MIXED)
    assert resp.status_code == 503
    assert "(Redis) is unreachable" in text(resp)
    assert uploads() == 0


# -- preview ----------------------------------------------------------------------------------

def test_the_preview_polls_while_checking_then_shows_counts_and_refused_rows(login, shop,
                                                                            run_jobs):
    c = login("operator")
    resp = send(c, shop, MIXED)
    url = resp.headers["Location"]
    page = c.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in text(page) and "<progress" in text(page)
    poll = c.hx_get(url)
    assert "<html" not in poll.get_data(as_text=True)
    assert 'data-state="checking"' in text(poll) and 'hx-trigger="every 1s"' in text(poll)

    run_jobs()
    done = c.hx_get(url)
    body = text(done)
    assert "<html" not in done.get_data(as_text=True)
    assert "hx-trigger" not in body and 'data-state="checked"' in body
    counts = visible(done)
    assert "10 rows" in counts and "2 orders ready" in counts and "7 rows refused" in counts
    assert "Import 2 orders" in body
    assert 'data-line="4" data-status="refused"' in body
    assert "Quantity “deux” is not a whole number." in body
    assert 'data-line="2" data-status="ok"' in body
    assert "Download refused rows" in body


def test_customer_text_in_the_preview_is_escaped(login, shop, run_jobs):
    content = (b"order_id,customer_name,phone,address,city,sku,quantity\n"
               b"1,<script>alert(1)</script>,0612345678,Rue 1,Rabat,<b>X</b>,1\n")
    c = login("operator")
    url = checked(c, shop, run_jobs, content)
    body = c.get(url).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "<b>X</b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "Unknown SKU “&lt;b&gt;X&lt;/b&gt;”." in body


def test_a_file_that_cannot_be_read_shows_why(login, shop, run_jobs):
    c = login("operator")
    url = checked(c, shop, run_jobs, b"nom;tel\nAmal;0612345678\n")
    body = text(c.get(url))
    assert 'data-state="failed"' in body
    assert "Missing columns: order_id, customer_name, phone" in body
    assert f"{url}/import" not in body


def test_another_users_unknown_upload_is_404(login):
    assert login("operator").get("/intake/csv/999999").status_code == 404
    assert login("operator").get("/intake/csv/99999999999").status_code == 404


# -- import -----------------------------------------------------------------------------------

def test_import_runs_once_whatever_the_clicks_then_reports(login, shop, run_jobs):
    c = login("operator")
    url = checked(c, shop, run_jobs)
    first = c.post(f"{url}/import", htmx=True)
    assert first.status_code == 200 and "<html" not in first.get_data(as_text=True)
    assert 'data-state="importing"' in text(first) and 'hx-trigger="every 1s"' in text(first)
    again = c.post(f"{url}/import", htmx=True)
    assert "This import is already running." in text(again)

    run_jobs()
    done = text(c.hx_get(url))
    assert "hx-trigger" not in done
    assert "Import finished: 2 orders created." in squash(done)
    late = c.post(f"{url}/import", htmx=True)
    assert "This file was already imported." in text(late)
    run_jobs()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2


def test_import_without_htmx_redirects_to_the_page(login, shop, run_jobs):
    c = login("operator")
    url = checked(c, shop, run_jobs)
    resp = c.post(f"{url}/import")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(url)
    again = c.post(f"{url}/import", follow_redirects=True)
    assert "This import is already running." in text(again)


def test_uploading_the_same_file_again_says_nothing_new_will_be_created(login, shop, run_jobs):
    c = login("operator")
    url = checked(c, shop, run_jobs)
    c.post(f"{url}/import", htmx=True)
    run_jobs()
    assert ("2 orders were already imported from an earlier upload; nothing new was created "
            "for them.") not in visible(c.get(url))
    second = checked(c, shop, run_jobs)
    page = visible(c.get(second))
    assert ("2 orders were already imported from an earlier upload; nothing new will be "
            "created for them.") in page
    assert "Import 0" not in page and "No order of this file is ready to import" in page
    refused = c.post(f"{second}/import", htmx=True)
    assert "There is nothing to import" in text(refused)
    run_jobs()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2


def test_an_import_that_found_earlier_orders_says_so(login, shop, run_jobs):
    c = login("operator")
    first = checked(c, shop, run_jobs)
    second = checked(c, shop, run_jobs)  # checked before the first was imported
    for url in (first, second):
        c.post(f"{url}/import", htmx=True)
        run_jobs()
    page = visible(c.get(second))
    assert "Import finished: 0 orders created." in page
    assert ("2 orders were already imported from an earlier upload; nothing new was created "
            "for them.") in page


def test_import_with_the_queue_down_stays_ready(app, login, shop, run_jobs, monkeypatch):
    c = login("operator")
    url = checked(c, shop, run_jobs)
    monkeypatch.setitem(app.extensions, "redis", Redis.from_url(
        f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1))
    resp = c.post(f"{url}/import", htmx=True)
    assert "(Redis) is unreachable" in text(resp)
    assert 'data-state="checked"' in text(resp) and "Import 2 orders" in text(resp)


# -- refused rows file ------------------------------------------------------------------------

def test_refused_rows_come_back_as_uploaded_with_line_and_reasons(login, shop, run_jobs):
    content = ("order_id;customer_name;phone;address;city;sku;quantity\n"
               "1;=HYPERLINK(\"http://x\");+212612345678;Rue 1;Rabat;NOPE;1\n"
               "2;Amal;0612345678;Rue 2;Rabat;TSHIRT-M;1\n"
               "3;Badr;0612345679;\"Rue 3;\nBloc B\";Fès;CAP-BLACK;x\n").encode("cp1256")
    c = login("operator")
    url = checked(c, shop, run_jobs, content)
    resp = c.get(f"{url}/rejects.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="orders-refused.csv"'
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))
    assert rows == [
        ["order_id", "customer_name", "phone", "address", "city", "sku", "quantity", "line",
         "reasons"],
        ["1", "'=HYPERLINK(\"http://x\")", "'+212612345678", "Rue 1", "Rabat", "NOPE", "1",
         "2", "Unknown SKU “NOPE”."],
        ["3", "Badr", "0612345679", "Rue 3;\nBloc B", "Fès", "CAP-BLACK", "x", "4",
         "Quantity “x” is not a whole number."],
    ]
