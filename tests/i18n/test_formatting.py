"""Numbers, money and times are written the way each language writes them."""

from datetime import date, datetime

import pytest

from blueprints.i18n import language, local_date, local_time, money, number, percent

NARROW = {"\u202f": " ", "\u00a0": " ", "\u200f": ""}


def plain(text: str) -> str:
    """Babel's non-breaking spaces and direction marks, as a reader sees them."""
    return "".join(NARROW.get(c, c) for c in text)


@pytest.fixture
def speaking(app):
    """A request context whose browser asks for one language."""

    def enter(accept: str):
        ctx = app.test_request_context(headers={"Accept-Language": accept})
        ctx.push()
        entered.append(ctx)

    entered = []
    yield enter
    for ctx in reversed(entered):
        ctx.pop()


@pytest.mark.parametrize(("accept", "cents", "shown"), [
    ("en", 175600, "1,756.00 MAD"),
    ("fr", 175600, "1 756,00 MAD"),
    ("ar", 175600, "1.756,00 د.م."),
    ("en", -1250, "-12.50 MAD"),
    ("fr", 5, "0,05 MAD"),
])
def test_money_follows_the_language(speaking, accept, cents, shown):
    speaking(accept)
    assert plain(money(cents, "MAD")) == shown


def test_money_without_a_currency_is_just_the_amount(speaking):
    speaking("fr")
    assert plain(money(123456)) == "1 234,56"
    assert money(None, "MAD") == ""


@pytest.mark.parametrize(("accept", "count", "share", "shown_count", "shown_share"), [
    ("en", 1234567, 0.825, "1,234,567", "82.5%"),
    ("fr", 1234567, 0.825, "1 234 567", "82,5 %"),
    ("ar", 1234567, 0.825, "1.234.567", "82,5%"),
])
def test_counts_and_rates_follow_the_language(speaking, accept, count, share, shown_count,
                                              shown_share):
    speaking(accept)
    assert plain(number(count)) == shown_count
    assert plain(percent(share)) == shown_share
    assert plain(percent(0.5)) in ("50%", "50 %")
    assert percent(None) == "—"


@pytest.mark.parametrize(("accept", "shown"), [
    ("en", "2026-11-28 23:30"),
    ("fr", "28/11/2026 23:30"),
])
def test_times_are_shown_in_the_configured_zone(speaking, accept, shown):
    # 22:30 UTC is 23:30 in Casablanca (UTC+1): the day and the hour are the local ones.
    speaking(accept)
    assert local_time(datetime(2026, 11, 28, 22, 30)) == shown
    assert local_time(datetime(2026, 11, 28, 22, 30), "%H:%M") == "23:30"


def test_a_day_near_midnight_is_the_local_day(speaking):
    speaking("fr")
    assert local_date(datetime(2026, 11, 28, 23, 30)) == "29/11/2026"
    assert local_date(date(2026, 11, 28)) == "28/11/2026"


def test_english_days_are_iso(speaking):
    speaking("en")
    assert local_date(datetime(2026, 11, 28, 23, 30)) == "2026-11-29"


def test_arabic_dates_use_latin_digits_as_in_morocco(speaking):
    speaking("ar")
    shown = local_time(datetime(2026, 11, 28, 13, 5))
    assert "28" in shown and "2026" in shown and "14:05" in shown


@pytest.mark.parametrize(("accept", "chosen"), [
    ("fr-FR,fr;q=0.9,en;q=0.5", "fr"),
    ("ar-MA,ar;q=0.9", "ar"),
    ("de-DE,de;q=0.9", "en"),
    ("", "en"),
])
def test_a_visitor_gets_the_browsers_language_when_codboard_speaks_it(speaking, accept, chosen):
    speaking(accept)
    assert language() == chosen


def test_a_saved_language_beats_the_browser(login, make_user):
    agent = login(make_user("agent", username="fatima", language="ar"))
    page = agent.get("/calls/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    operator = login(make_user("operator", username="leo", language=""))
    page = operator.get("/orders/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Commandes" in page


def test_the_json_api_answers_in_english_whatever_the_client_asks(app, make_channel):
    from extensions import db
    from models import Actor
    from models.intake.api_keys import issue_key

    channel = make_channel(name="Argan Store", code="argan", kind="api")
    _, token = issue_key(channel, "Shop backend", Actor.system("test"))
    db.session.commit()
    body = {"external_id": "1042", "cod_amount": "129.00",
            "customer": {"name": "Salma Idrissi", "phone": "0612345678",
                         "address": "12 rue Ibn Battouta", "city": "Casablanca"},
            "lines": [{"sku": "NOPE-9", "quantity": 1}]}
    resp = app.test_client().post(
        "/api/v1/orders", json=body,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "fr"})
    assert resp.status_code == 422
    assert resp.headers["Content-Type"].startswith("application/json")
    assert "Unknown SKU" in resp.json["error"], resp.json
