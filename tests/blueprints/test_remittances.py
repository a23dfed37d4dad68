"""The remittances board: mapping, upload, the per-line result, past statements, roles."""

import io

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Parcel, RemittanceLine, RemittanceStatement
from models.money.remittances import saved_mapping

URL = "/boards/money/remittances"


@pytest.fixture
def carrier(make_carrier):
    """The carrier whose statements are imported."""
    return make_carrier(name="Amana Express")


@pytest.fixture
def delivered(make_order, carrier):
    """delivered(tracking, cod_cents=12900) -> a delivered order's parcel with the carrier."""
    counter = iter(range(1, 10**6))

    def make(tracking: str, cod_cents: int = 12900) -> Parcel:
        order = make_order(carrier=carrier, cod_amount_cents=cod_cents,
                           confirmation_status="confirmed", shipping_status="delivered")
        parcel = Parcel(order_id=order.id, carrier_id=carrier.id, tracking_number=tracking,
                        idempotency_key=f"board-{next(counter)}")
        db.session.add(parcel)
        db.session.commit()
        return parcel

    return make


def upload(client, carrier, content: bytes, name: str = "statement.csv", htmx: bool = True,
           **mapping):
    """POST a statement with this mapping (defaults for what is not given)."""
    data = {"carrier_id": str(carrier.id), "tracking_number": "tracking_number",
            "amount": "amount", "fees": "fees", "payout_date": "payout_date", "reference": "",
            "action": "import", **mapping, "file": (io.BytesIO(content), name)}
    if data.get("decimal_comma") is False:
        del data["decimal_comma"]
    return client.post(URL, data=data, content_type="multipart/form-data", htmx=htmx)


STATEMENT = (b"tracking_number,amount,fees,payout_date\r\n"
             b"SBX1,129.00,15.00,2026-11-20\r\n"
             b"SBX2,100.00,15.00,2026-11-20\r\n"
             b"SBX3,150.00,15.00,2026-11-20\r\n"
             b"NOPE,50.00,0,2026-11-20\r\n"
             b"SBX1,129.00,15.00,2026-11-20\r\n"
             b",129.00,15.00,2026-11-20\r\n")


def test_remittances_upload_shows_each_line_and_the_totals(login, carrier, delivered):
    for tracking in ("SBX1", "SBX2", "SBX3"):
        delivered(tracking)
    manager = login("manager")
    resp = upload(manager, carrier, STATEMENT)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in page
    for line, outcome in ((2, "remitted"), (3, "short"), (4, "over"), (5, "unknown"),
                          (6, "duplicate")):
        assert f'data-line="{line}" data-outcome="{outcome}"' in page
    assert "Same tracking number as line 2 of this statement." in page
    assert 'data-outcome="remitted">Remitted: <strong>1</strong>' in page
    assert 'data-total="collected">429.00<' in page  # duplicates are not counted
    assert 'data-total="fees">45.00<' in page
    assert 'data-total="net">384.00<' in page
    assert 'data-total="disputed">-8.00<' in page  # -29.00 short, +21.00 over
    assert 'data-line="7"' in page and "The tracking number is empty." in page
    assert "Amana Express" in page and "statement.csv" in page


def test_remittances_same_file_twice_says_so(login, carrier, delivered):
    delivered("SBX1")
    manager = login("manager")
    upload(manager, carrier, STATEMENT)
    resp = upload(manager, carrier, STATEMENT, name="again.csv")
    assert resp.status_code == 200
    assert "This file was already imported" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RemittanceStatement)) == 1


def test_remittances_mapping_saved_and_prefilled(login, carrier, delivered):
    delivered("SBX1")
    manager = login("admin")
    resp = manager.post(URL, data={
        "carrier_id": str(carrier.id), "tracking_number": "Colis", "amount": "Montant encaissé",
        "fees": "", "payout_date": "Versé le", "reference": "", "decimal_comma": "y",
        "action": "save_mapping"}, htmx=True)
    assert resp.status_code == 200
    assert "Amana Express&#39;s column mapping saved." in resp.get_data(as_text=True)
    page = manager.get(f"{URL}?carrier_id={carrier.id}").get_data(as_text=True)
    assert 'value="Montant encaissé"' in page and 'value="Versé le"' in page
    content = "Colis;Montant encaissé;Versé le\r\nSBX1;129,00;20/11/2026\r\n".encode()
    mapping = saved_mapping(carrier.id)
    resp = upload(manager, carrier, content, tracking_number=mapping.tracking_number,
                  amount=mapping.amount, fees="", payout_date=mapping.payout_date,
                  decimal_comma="y")
    assert 'data-line="2" data-outcome="remitted"' in resp.get_data(as_text=True)


def test_remittances_french_headers_without_a_mapping(login, carrier, delivered):
    delivered("SBX1")
    manager = login("manager")
    content = "Numéro de suivi,Montant,Frais,Date de paiement\r\nSBX1,129.00,10.00,2026-11-20\r\n"
    resp = upload(manager, carrier, content.encode())
    assert 'data-line="2" data-outcome="remitted"' in resp.get_data(as_text=True)
    assert saved_mapping(carrier.id).tracking_number == "Numéro de suivi"


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"a,b\r\n1,2\r\n", "s.csv", "The file has no column for the tracking number"),
    (b"PK\x03\x04xx", "s.xlsx", "is not a CSV file"),
    (b"", "s.csv", "is empty"),
])
def test_remittances_bad_file_is_a_4xx_with_a_message(login, carrier, content, name, message):
    manager = login("manager")
    resp = upload(manager, carrier, content, name=name)
    page = resp.get_data(as_text=True)
    assert 400 <= resp.status_code < 500 and message in page and "<html" not in page
    assert "Nothing was imported." in page
    assert db.session.scalar(select(func.count()).select_from(RemittanceLine)) == 0


def test_remittances_unknown_carrier_is_refused(login, carrier):
    manager = login("manager")
    resp = manager.post(URL, data={"carrier_id": "999999", "action": "import"}, htmx=True)
    assert resp.status_code == 422 and "Carrier" in resp.get_data(as_text=True)


def test_remittances_post_needs_csrf(login, carrier):
    manager = login("manager")
    resp = manager.post(URL, data={
        "carrier_id": str(carrier.id), "tracking_number": "Colis", "amount": "amount",
        "payout_date": "payout_date", "action": "save_mapping"}, csrf=False)
    assert resp.status_code in (400, 422)
    assert saved_mapping(carrier.id) is None


def test_remittances_output_is_escaped(login, carrier):
    manager = login("manager")
    content = b"tracking_number,amount,fees,payout_date\r\n<b>X</b>,abc,0,2026-11-20\r\n"
    page = upload(manager, carrier, content, name="<i>s</i>.csv").get_data(as_text=True)
    assert "<b>X</b>" not in page and "&lt;b&gt;X&lt;/b&gt;" in page


def test_remittances_full_page_and_past_statement(login, carrier, delivered):
    delivered("SBX1")
    manager = login("manager")
    upload(manager, carrier, STATEMENT)
    statement = db.session.scalar(select(RemittanceStatement))
    page = manager.get(URL).get_data(as_text=True)
    assert "<html" in page and f'data-statement="{statement.id}"' in page
    page = manager.get(f"{URL}?statement_id={statement.id}").get_data(as_text=True)
    assert 'data-line="2" data-outcome="remitted"' in page
    assert manager.get(f"{URL}?statement_id=99999").status_code == 404


@pytest.mark.parametrize("role", ["agent", "operator"])
def test_remittances_forbidden_to_agents_and_operators(login, carrier, role):
    user = login(role)
    assert user.get(URL).status_code == 403
    assert upload(user, carrier, STATEMENT).status_code == 403


def test_remittances_choosing_a_carrier_swaps_in_its_mapping(login, carrier, make_carrier):
    other = make_carrier(name="Zed Courier")
    manager = login("manager")
    manager.post(URL, data={"carrier_id": str(other.id), "tracking_number": "Suivi Zed",
                            "amount": "Cash", "fees": "", "payout_date": "Paid",
                            "action": "save_mapping"}, htmx=True)
    page = manager.hx_get(f"{URL}?carrier_id={other.id}").get_data(as_text=True)
    assert "<html" not in page and 'value="Suivi Zed"' in page
    page = manager.hx_get(f"{URL}?carrier_id={carrier.id}").get_data(as_text=True)
    assert 'value="Suivi Zed"' not in page and 'value="tracking_number"' in page


def test_remittances_upload_without_htmx_shows_the_page(login, carrier, delivered):
    delivered("SBX1")
    page = upload(login("manager"), carrier, STATEMENT, htmx=False).get_data(as_text=True)
    assert "<html" in page and 'data-line="2" data-outcome="remitted"' in page
