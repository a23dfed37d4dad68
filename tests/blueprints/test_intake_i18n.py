"""CSV import, channel, carrier, routing, stock and users screens in French and in Arabic,
and the admin setting each user's language."""

import csv
import io
import re

import pytest

from extensions import db
from models import User

from .pages import html_tag, squash, text
from .test_csv_import import MIXED, send


@pytest.fixture
def shop(make_channel, make_product):
    """A channel and the two products the fixture file sells."""
    make_product(sku="TSHIRT-M", name="T-shirt M", price_cents=14900)
    make_product(sku="CAP-BLACK", name="Black cap", price_cents=5000)
    return make_channel(name="Souk", code="souk")


def visible(resp) -> str:
    """The page's text without tags, whitespace collapsed."""
    return squash(re.sub(r"<[^>]+>", " ", text(resp)))


def headings(resp) -> list[str]:
    """The texts of the page's h1 and h2 headings."""
    found = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", text(resp), re.S)
    return [squash(re.sub(r"<[^>]+>", " ", h)) for h in found]


def checked_upload(c, shop, run_jobs) -> str:
    """Upload the mixed fixture file and run its check; the preview page's URL."""
    resp = send(c, shop, MIXED)
    assert resp.status_code == 303, text(resp)
    run_jobs()
    return resp.headers["Location"]


# -- CSV import ---------------------------------------------------------------------------

def test_csv_preview_and_reasons_are_french_for_a_french_uploader(speaker, shop, run_jobs):
    c = speaker("operator", "fr")
    url = checked_upload(c, shop, run_jobs)
    page = c.get(url)
    words = visible(page)
    assert 'lang="fr"' in html_tag(page)
    assert "10 lignes" in words and "2 commandes prêtes" in words
    assert "7 lignes refusées" in words
    assert "La quantité « deux » n'est pas un nombre entier." in words
    assert "Quantity “deux”" not in words
    assert "Importer 2 commandes" in words and "Télécharger les lignes refusées" in words


def test_refused_rows_file_has_french_columns_and_reasons(speaker, shop, run_jobs):
    c = speaker("operator", "fr")
    url = checked_upload(c, shop, run_jobs)
    body = c.get(f"{url}/rejects.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][-2:] == ["ligne", "raisons"]
    reasons = {row[-2]: row[-1] for row in rows[1:]}
    assert reasons["4"] == "La quantité « deux » n'est pas un nombre entier."


def test_an_english_uploader_still_gets_english_reasons(login, shop, run_jobs):
    c = login("operator")
    url = checked_upload(c, shop, run_jobs)
    words = visible(c.get(url))
    assert "Quantity “deux” is not a whole number." in words and "7 rows refused" in words


def test_upload_refusal_is_arabic_for_an_arabic_reader(speaker, shop):
    c = speaker("operator", "ar")
    resp = send(c, shop, b"order_id,phone\n", name="orders.xlsx")
    assert resp.status_code == 415
    assert "«orders.xlsx» ليس ملف CSV." in visible(resp)
    assert 'dir="rtl"' in html_tag(resp)


# -- channels -----------------------------------------------------------------------------

def test_channels_list_in_arabic_is_right_to_left_and_translated(speaker, make_channel):
    make_channel(name="متجر الأمل", code="amal", kind="sandbox")
    page = speaker("manager", "ar").get("/settings/channels")
    assert page.status_code == 200
    assert 'lang="ar"' in html_tag(page) and 'dir="rtl"' in html_tag(page)
    assert headings(page)[0] == "قنوات البيع"
    words = visible(page)
    assert "إضافة قناة" in words and "مزامنة الآن" in words and "لم تتم مزامنتها قط" in words
    assert "<bdi>متجر الأمل</bdi>" in text(page)
    assert "Add channel" not in words and "Sync now" not in words


def test_channel_page_in_arabic_translates_the_form_and_keys(speaker, make_channel):
    channel = make_channel(name="Souk", code="souk", kind="api")
    page = speaker("manager", "ar").get(f"/settings/channels/{channel.id}")
    assert page.status_code == 200
    assert "مفاتيح API" in headings(page)
    words = visible(page)
    assert "مصدر الطلبات" in words  # the kind select's label
    assert "واجهة JSON API (سكربتات، مزودو العملاء المحتملين)" in words  # a kind choice
    assert "كل طلب وارد يُمرَّر للتأكيد فور استلامه." in words  # a forwarding choice's help
    assert "مفتاح جديد" in words and "Orders come from" not in words


def test_channel_refusal_is_french(speaker, make_channel):
    make_channel(name="Souk", code="souk")
    c = speaker("manager", "fr")
    resp = c.post("/settings/channels/new", data={
        "name": "Autre", "code": "souk", "kind": "manual", "active": "y",
        "forwarding": "always", "forward_when": "committed", "confirm_by": "agent",
        "dropship_process": "off", "default_carrier_id": ""})
    assert resp.status_code == 422
    assert "Un autre canal a déjà le code « souk »." in visible(resp)


# -- carriers and routing -----------------------------------------------------------------

def test_carrier_and_routing_pages_in_french(speaker, make_carrier, make_warehouse):
    carrier = make_carrier(name="Amana")
    make_warehouse(name="Casa")
    c = speaker("manager", "fr")
    edit = visible(c.get(f"/settings/carriers/{carrier.id}"))
    assert "Correspondance des statuts" in edit and "Règles de suivi" in edit
    assert "Commence par" in edit  # a rule kind offered in the select
    routing = c.get("/settings/routing")
    assert headings(routing)[0] == "Routage"
    assert "Exclusions" in visible(routing) and "Géographie" in visible(routing)


# -- stock --------------------------------------------------------------------------------

def test_stock_pages_in_arabic(speaker, make_product):
    product = make_product(sku="MUG-1", name="كوب أزرق", stock=1234)
    c = speaker("operator", "ar")
    index = c.get("/stock/")
    assert 'dir="rtl"' in html_tag(index) and headings(index)[0] == "المخزون"
    assert "المتوفر" in visible(index) and "1.234" in visible(index)  # Morocco groups with dots
    assert "<bdi>كوب أزرق</bdi>" in text(index)
    page = c.get(f"/stock/{product.id}")
    assert "السجل" in headings(page) and "المتوفر" in headings(page)
    ledger = re.search(r'<table class="striped" id="ledger">.*?</table>', text(page), re.S)
    assert 'data-reason="Received"' in ledger.group(0)  # the stored reason, for scripts
    assert "استلام" in squash(ledger.group(0))  # the reason as the reader reads it


def test_stock_search_with_no_match_speaks_french(speaker):
    fragment = speaker("operator", "fr").hx_get("/stock/?q=zzz")
    assert "Aucun produit ne correspond à « zzz »." in visible(fragment)


# -- users admin: each user's language ----------------------------------------------------

def language_select(resp, user: User) -> str:
    """The <select> of one user's language on the users page."""
    return re.search(rf'<select[^>]*id="language-{user.id}".*?</select>', text(resp),
                     re.S).group(0)


def test_admin_sees_each_users_language(login, make_user):
    agent = make_user(role="agent", username="amal", language="ar")
    page = login("admin").get("/settings/users")
    select = language_select(page, agent)
    chosen = re.findall(r'<option([^>]*)value="([^"]*)"([^>]*)>', select)
    assert [value for before, value, after in chosen if "selected" in before + after] == ["ar"]
    options = re.findall(r'<option[^>]*value="([^"]*)"', select)
    assert options == ["", "en", "fr", "ar"]
    assert "Français" in select and "The browser's language" in select


def test_admin_sets_a_users_language_and_the_user_then_reads_it(login, make_user):
    agent = make_user(role="operator", username="karim")
    admin = login("admin")
    resp = admin.post(f"/settings/users/{agent.id}/language", data={"language": "fr"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, agent.id).language == "fr"
    assert "karim now reads codboard in Français." in visible(admin.get("/settings/users"))
    assert headings(login(agent).get("/stock/"))[0] == "Stock"
    assert "Rechercher des produits" in text(login(agent).get("/stock/"))

    admin.post(f"/settings/users/{agent.id}/language", data={"language": ""})
    db.session.expire_all()
    assert db.session.get(User, agent.id).language == ""
    arabic_browser = login(agent).get("/stock/", headers={"Accept-Language": "ar"})
    assert 'dir="rtl"' in html_tag(arabic_browser)


def test_only_known_languages_can_be_set(login, make_user):
    agent = make_user(role="agent", language="fr")
    resp = login("admin").post(f"/settings/users/{agent.id}/language",
                               data={"language": "de"})
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, agent.id).language == "fr"


def test_only_admins_set_languages(login, make_user):
    agent = make_user(role="agent")
    resp = login("manager").post(f"/settings/users/{agent.id}/language",
                                 data={"language": "fr"})
    assert resp.status_code == 403


def test_users_page_in_french(speaker):
    page = speaker("admin", "fr").get("/settings/users")
    assert headings(page)[0] == "Utilisateurs"
    assert "Langue" in visible(page) and "La langue du navigateur" in visible(page)
