"""Orders, login and the language picker in French and Arabic; phones typed in Arabic digits."""

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, Order, User
from models.orders.operations import edit_order

from .pages import html_tag, location, squash, text

# Babel writes French and Arabic numbers with narrow or no-break spaces.
SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


def words(resp) -> str:
    """What the reader sees: the markup dropped, entities decoded, every space a plain one."""
    return squash(re.sub(r"<[^>]+>", " ", text(resp)).translate(SPACES))


def field_errors(resp) -> list[str]:
    """The messages shown under the login form's fields."""
    return [squash(m) for m in re.findall(r'<small class="field-error">(.*?)</small>',
                                          text(resp), re.S)]


def as_reader(login, make_user, language: str = "", role: str = "manager"):
    """A client logged in as a user who saved this language ("" = follow the browser)."""
    return login(make_user(role=role, language=language))


def test_login_page_follows_the_browser_in_french(client):
    resp = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    page = words(resp)
    assert 'lang="fr"' in html_tag(resp) and 'dir="ltr"' in html_tag(resp)
    assert "Connexion à codboard" in page
    assert "Nom d'utilisateur" in page and "Mot de passe" in page
    assert "Username" not in page and "Password" not in page


def test_login_page_in_arabic_is_right_to_left(client):
    resp = client.get("/login", headers={"Accept-Language": "ar-MA,ar;q=0.9"})
    page = words(resp)
    assert 'lang="ar"' in html_tag(resp) and 'dir="rtl"' in html_tag(resp)
    assert "تسجيل الدخول إلى codboard" in page
    assert "اسم المستخدم" in page and "كلمة المرور" in page


def test_a_required_field_says_so_in_french(client):
    resp = client.post("/login", data={"username": "", "password": ""},
                       headers={"Accept-Language": "fr"})
    assert resp.status_code == 422
    assert field_errors(resp) == ["Ce champ est requis.", "Ce champ est requis."]


def test_a_saved_french_choice_wins_over_an_english_browser(login, make_user, make_order):
    make_order(customer_name="Salma Idrissi", cod_amount_cents=175600)
    reader = as_reader(login, make_user, "fr")
    resp = reader.get("/orders/", headers={"Accept-Language": "en-US,en;q=0.9"})
    page = words(resp)
    assert resp.status_code == 200 and 'lang="fr"' in html_tag(resp)
    for shown in ("Commandes", "Nouvelle commande", "Exporter", "Client",
                  "Toutes les commandes, les plus récentes d'abord"):
        assert shown in page, shown
    assert "1 756,00 MAD" in page
    assert "Every order, newest first" not in page


def test_money_in_english_keeps_its_comma_and_point(login, make_user, make_order):
    make_order(cod_amount_cents=175600)
    page = words(as_reader(login, make_user, "en").get("/orders/"))
    assert "1,756.00 MAD" in page and "1 756,00" not in page


def test_the_orders_list_in_arabic(login, make_user, make_order):
    make_order(customer_name="عبد الرحيم", phone="0612345678")
    resp = as_reader(login, make_user, "ar").get("/orders/")
    page = words(resp)
    assert 'dir="rtl"' in html_tag(resp)
    assert "طلب جديد" in page and "كل الطلبات، الأحدث أولًا" in page
    body = resp.get_data(as_text=True)
    assert "<bdi>عبد الرحيم</bdi>" in body  # the customer's name keeps its own direction
    assert '<span dir="ltr">0612345678</span>' in body  # and the phone never flips


def test_the_order_page_and_its_history_in_french(login, make_user, make_order):
    order = make_order(customer_name="Karim Tazi")
    reader = as_reader(login, make_user, "fr")
    page = words(reader.get(f"/orders/{order.id}"))
    assert f"Commande #{order.id}" in page
    for shown in ("Client", "Livraison", "Lignes", "Montant à encaisser", "Historique"):
        assert shown in page, shown
    assert "Cash to collect" not in page and "Lines" not in page


def test_the_order_page_in_arabic_keeps_names_and_phones_readable(login, make_user,
                                                                  make_order):
    order = make_order(customer_name="Karim Tazi", city="الدار البيضاء")
    resp = as_reader(login, make_user, "ar").get(f"/orders/{order.id}")
    body = resp.get_data(as_text=True)
    assert 'dir="rtl"' in html_tag(resp)
    assert f"الطلب #{order.id}" in words(resp) and "السجل" in words(resp)
    assert "<bdi>Karim Tazi</bdi>" in body and "<bdi>الدار البيضاء</bdi>" in body
    assert 'dir="ltr">0612345678</a>' in body


def test_the_language_picker_saves_the_choice_and_returns_to_the_page(login, make_user):
    reader = as_reader(login, make_user)
    resp = reader.post("/account/language", data={"language": "fr", "next": "/orders/?city=Rabat"})
    assert resp.status_code == 303
    assert location(resp) == ("/orders/", {"city": ["Rabat"]})
    assert db.session.get(User, reader.user.id).language == "fr"
    assert "Nouvelle commande" in words(reader.get("/orders/?city=Rabat"))

    resp = reader.post("/account/language", data={"language": "ar", "next": "/orders/"})
    assert resp.status_code == 303
    assert 'dir="rtl"' in html_tag(reader.get("/orders/"))


def test_the_language_picker_refuses_a_language_it_does_not_speak(login, make_user):
    reader = as_reader(login, make_user, "fr")
    resp = reader.post("/account/language", data={"language": "xx", "next": "/orders/"})
    assert resp.status_code == 422
    assert db.session.get(User, reader.user.id).language == "fr"
    assert "Nouvelle commande" in words(reader.get("/orders/"))


def test_a_refusal_from_the_door_speaks_french(login, make_user, make_order):
    order = make_order(confirmation_status="confirmed", shipping_status="created")
    reader = as_reader(login, make_user, "fr", role="operator")
    resp = reader.post(f"/orders/{order.id}/shipping",
                       data={"to": "delivered", "version": order.version})
    assert resp.status_code == 409
    assert "ne peut pas passer à" in words(resp)


def test_the_export_headers_speak_french(login, make_user, make_order):
    make_order()
    resp = as_reader(login, make_user, "fr").get("/orders/export.csv")
    header = resp.get_data(as_text=True).lstrip("\ufeff").splitlines()[0]
    assert header.startswith("N° de commande,Id externe,")
    assert "Téléphone" in header and "Phone" not in header


# Phones typed on an Arabic keyboard: Arabic-Indic (٠–٩) and Persian (۰–۹) digits.
ARABIC_INDIC = "٠٦٦١ ٢٢ ٣٣ ٤٤"
PERSIAN = "۰۶۶۱۲۲۳۳۴۴"


@pytest.fixture
def shop(make_channel, make_product):
    """A manual channel and a product."""
    return {"channel": make_channel(name="Phone orders", kind="manual"),
            "product": make_product(sku="ARG-250", name="Argan oil", price_cents=9900)}


@pytest.mark.parametrize("typed", [ARABIC_INDIC, PERSIAN])
def test_manual_entry_takes_a_phone_in_arabic_digits(login, shop, typed):
    resp = login("operator").post("/orders/new", data={
        "channel": shop["channel"].id, "external_id": "", "customer_name": "سلمى الإدريسي",
        "phone": typed, "address": "12 زنقة ابن بطوطة", "city": "الدار البيضاء", "region": "",
        "cod_amount": "", "note": "", "product": [str(shop["product"].id)], "quantity": ["1"]})
    assert resp.status_code == 303, words(resp)
    order = db.session.scalars(select(Order)).one()
    assert order.phone_normalized == "+212661223344"
    assert not re.search(r"[٠-٩۰-۹]", order.phone)  # the courier reads Latin digits


def test_the_phone_check_reads_arabic_digits(login, make_order):
    make_order(phone="0661223344", phone_normalized="+212661223344")
    resp = login("operator").hx_get("/orders/new/phone", query_string={"phone": ARABIC_INDIC})
    assert "1 other order with this number" in words(resp)


def test_an_order_edit_takes_a_phone_in_arabic_digits(make_order, make_user):
    order = make_order(phone="0700000000", phone_normalized="+212700000000")
    manager = make_user(role="manager")
    edit_order(order, Actor.of(manager), phone=ARABIC_INDIC)
    db.session.commit()
    assert order.phone_normalized == "+212661223344"
    assert order.phone == "0661 22 33 44"


@pytest.mark.parametrize("typed", [ARABIC_INDIC, PERSIAN, "+٢١٢٦٦١٢٢٣٣٤٤"])
def test_the_orders_list_finds_a_phone_typed_in_arabic_digits(login, make_order, typed):
    wanted = make_order(phone="0661223344", phone_normalized="+212661223344")
    make_order(phone="0700000000", phone_normalized="+212700000000")
    body = login("manager").get("/orders/", query_string={"q": typed}).get_data(as_text=True)
    assert re.findall(r'<a href="/orders/(\d+)">#', body) == [str(wanted.id)]
