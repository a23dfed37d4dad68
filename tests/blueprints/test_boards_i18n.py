"""The status board, TV mode, money board, remittances and their CSV files in French and
Arabic: translated words, the language's number and money formats, right to left."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest

from blueprints.boards.money import note_text
from extensions import db
from models.boards.period import today
from models.boards.tables import ALL, NO_KEY, OrderDayCount
from tests.models.test_money_board import at_local_noon

NARROW = {"\u202f": " ", "\u00a0": " ", "\u200f": "", "\u200e": ""}


def plain(text: str) -> str:
    """Text as a reader sees it: entities decoded, non-breaking spaces as spaces, no
    direction marks."""
    return "".join(NARROW.get(c, c) for c in unescape(text))


@pytest.fixture
def speaker(login, make_user):
    """speaker(language) -> a manager's client whose saved language is `language`."""

    def make(language: str):
        return login(make_user(role="manager", language=language))

    return make


@pytest.fixture
def busy_day(app):
    """12,345 new orders arrived today (their rollup row, as the board reads it)."""
    db.session.add(OrderDayCount(dim=ALL, key=NO_KEY, day=today(), confirmation_status="new",
                                 shipping_status="", shard=0, n=12345))
    db.session.commit()


def page_of(client, url: str, **kwargs) -> str:
    """The page at `url`, its spaces and direction marks normalised."""
    resp = client.get(url, **kwargs)
    assert resp.status_code == 200
    return plain(resp.get_data(as_text=True))


def read_csv(resp) -> list[list[str]]:
    """A CSV answer's rows (its byte order mark dropped)."""
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).removeprefix("\ufeff"))))


def test_status_board_in_french(speaker, busy_day):
    page = page_of(speaker("fr"), "/boards/")
    assert '<html lang="fr" dir="ltr">' in page
    assert "<h1>Tableau des statuts</h1>" in page
    assert "Commandes arrivées aujourd'hui" in page
    assert "<h3>Taux de confirmation</h3>" in page
    assert re.search(r'data-conf="new">12 345<', page)
    assert re.search(r'data-step="leads"><span class="step-name">Leads</span>\s*'
                     r'<strong class="step-n">12 345</strong>', page)
    assert '<option value="7d" >7 derniers jours</option>' in page
    assert "Rapidité de prise en charge" in page and "Tendances" in page


def test_status_board_follows_the_browser_without_a_saved_language(login, busy_day):
    page = page_of(login("manager"), "/boards/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Commandes arrivées aujourd'hui" in page and "12 345" in page


def test_status_board_in_english_groups_thousands(login, busy_day):
    page = page_of(login("manager"), "/boards/")
    assert re.search(r'data-conf="new">12,345<', page)


def test_status_board_in_arabic_is_right_to_left(speaker, busy_day):
    page = page_of(speaker("ar"), "/boards/?period=7d")
    assert '<html lang="ar" dir="rtl">' in page
    assert "<h1>لوحة الحالات</h1>" in page
    assert "<h3>نسبة التأكيد</h3>" in page
    assert "الطلبات التي وصلت خلال آخر 7 أيام" in page
    assert re.search(r'data-conf="new">12.345<', page)
    # The chart is mirrored: its value axis stands on the right, today's point on the left.
    chart = page.split('class="trend-chart"', 1)[1].split("</svg>", 1)[0]
    assert 'direction="ltr"' in chart
    assert '<line class="axis" x1="596" y1="12" x2="596" y2="186"/>' in chart
    leads = re.search(r'data-series="leads">\s*<polyline points="([^"]+)"', chart).group(1)
    xs = [float(point.split(",")[0]) for point in leads.split()]
    assert xs == sorted(xs, reverse=True)  # oldest day on the right
    assert "يوم الوصول" in chart


def test_board_poll_is_rendered_in_each_readers_language(login, speaker, busy_day):
    # Polls of the same board are shared for a moment: never one language's to another.
    english = login("manager").hx_get("/boards/?period=today").get_data(as_text=True)
    french = speaker("fr").hx_get("/boards/?period=today").get_data(as_text=True)
    assert "Orders that arrived today" in english
    assert "Commandes arrivées aujourd'hui" in plain(french)


def test_tv_mode_in_arabic(speaker, busy_day):
    page = page_of(speaker("ar"), "/boards/tv")
    assert '<html lang="ar" dir="rtl">' in page
    assert "<title>لوحة الحالات (شاشة) · codboard</title>" in page
    assert '<span class="big">12.345</span>' in page


def test_two_filters_are_refused_in_french(speaker, make_channel, make_carrier):
    channel, carrier = make_channel(), make_carrier()
    resp = speaker("fr").get(f"/boards/?channel={channel.id}&carrier={carrier.id}")
    assert resp.status_code == 422
    assert "Choisissez un seul filtre à la fois" in resp.get_data(as_text=True)


def test_bad_custom_period_is_refused_in_arabic(speaker):
    resp = speaker("ar").get("/boards/?period=custom&from=2026-03-10")
    assert resp.status_code == 422
    assert "تحتاج الفترة المخصصة إلى تاريخ بداية وتاريخ نهاية." in resp.get_data(as_text=True)


def test_csv_headers_in_french(speaker, busy_day):
    client = speaker("fr")
    rates = read_csv(client.get("/boards/export/rates.csv"))
    assert rates[0] == ["Taux", "Formule", "Numérateur", "Dénominateur", "Valeur", "Du", "Au",
                        "Filtre", "Valeur du filtre"]
    assert rates[1][0] == "Taux de confirmation"
    funnel = read_csv(client.get("/boards/export/funnel.csv"))
    # Figures stay plain numbers a spreadsheet reads in any language.
    assert funnel[1][:2] == ["Leads", "12345"]
    status = read_csv(client.get("/boards/export/status.csv"))
    assert status[0][0] == "Confirmation" and status[0][-5] == "Total"


@pytest.fixture
def shipped_cash(make_order, make_carrier):
    """One parcel with 1,756.00 on the road with the carrier "Amana"."""
    carrier = make_carrier(name="Amana")
    make_order(confirmation_status="confirmed", shipping_status="shipped",
               cod_amount_cents=175600, shipping_changed_at=at_local_noon(1), carrier=carrier)
    return carrier


def test_money_board_in_french(speaker, shipped_cash):
    page = page_of(speaker("fr"), "/boards/money")
    assert "<h1>Tableau de l'argent</h1>" in page
    assert "Argent en transit" in page and "Tous les transporteurs" in page
    row = re.search(rf'<tr data-carrier="{shipped_cash.id}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert "<bdi>Amana</bdi>" in row
    assert re.search(r'data-figure="shipped"><a href="[^"]+">1</a><br>\s*<small>1 756,00</small>',
                     row)


def test_money_board_in_arabic(speaker, shipped_cash):
    page = page_of(speaker("ar"), "/boards/money")
    assert '<html lang="ar" dir="rtl">' in page
    assert "<h1>لوحة الأموال</h1>" in page and "أموال قيد النقل" in page
    assert "<small>1.756,00</small>" in page


def test_money_board_overdue_setting_refused_in_french(speaker):
    resp = speaker("fr").post("/boards/money/settings", data={"overdue_days": "0"},
                              headers={"HX-Request": "true"})
    assert resp.status_code == 422
    assert "écrivez un nombre entier de jours de 1 à 365" in resp.get_data(as_text=True)


def test_money_csv_header_in_french(speaker, shipped_cash):
    header, *rows = read_csv(speaker("fr").get("/boards/money.csv"))
    assert header[:4] == ["Transporteur", "Pas encore chez le transporteur",
                          "Pas encore chez le transporteur, montant à encaisser", "En transit"]
    assert rows[-1][0] == "Tous les transporteurs"
    assert rows[0][header.index("En transit, montant à encaisser")] == "1756.00"


def test_remittances_page_in_french(speaker, make_carrier):
    make_carrier(name="Amana")
    page = page_of(speaker("fr"), "/boards/money/remittances")
    assert "<h1>Relevés de reversement</h1>" in page
    assert "Colonne du numéro de suivi" in page and "Importer le relevé" in page
    assert "Aucun relevé importé pour l'instant." in page


def test_statement_notes_read_in_the_readers_language(app):
    notes = {
        "Same tracking number as line 2 of this statement.":
            "Même numéro de suivi que la ligne 2 de ce relevé.",
        "No parcel of Amana has this tracking number.":
            "Aucun colis de Amana n'a ce numéro de suivi.",
        "Expected 1756.00, collected 1700.00. The order is not marked delivered (shipped).":
            "Attendu 1 756,00, encaissé 1 700,00. La commande n'est pas marquée comme livrée "
            "(Expédié).",
        "Something a newer version wrote.": "Something a newer version wrote.",
    }
    # Each request has its own app context (the language is remembered in it).
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "fr"}):
        for stored, shown in notes.items():
            assert plain(note_text(stored)) == shown
    with app.app_context(), app.test_request_context():
        assert note_text("No parcel of Amana has this tracking number.") == \
            "No parcel of Amana has this tracking number."
        assert note_text("Expected 1756.00, collected 1700.00.") == \
            "Expected 1,756.00, collected 1,700.00."


def test_remittance_refusals_in_french(speaker, make_carrier):
    carrier = make_carrier(name="Amana", kind="manual")
    content = b"tracking_number,amount,payout_date\n,abc,2026-11-28\n"
    resp = speaker("fr").post("/boards/money/remittances", data={
        "carrier_id": str(carrier.id), "tracking_number": "tracking_number", "amount": "amount",
        "fees": "", "payout_date": "payout_date", "action": "import",
        "file": (io.BytesIO(content), "statement.csv")}, headers={"HX-Request": "true"},
        content_type="multipart/form-data")
    page = plain(resp.get_data(as_text=True))
    assert "1 ligne n'a pas pu être lue" in page
    assert "Le numéro de suivi est vide." in page
    assert "Le montant « abc » n'est pas un montant (écrivez 1234.50)." in page


def test_days_in_french_use_the_local_date(speaker, busy_day):
    first = today() - timedelta(days=6)
    page = page_of(speaker("fr"), "/boards/?period=7d")
    assert f"du {first:%d/%m/%Y} au {today():%d/%m/%Y}" in page
    assert f"<td>{today():%d/%m/%Y}</td>" in page
