"""The dropship screens in French and Arabic: headings, buttons, refusals and file reports
read in the user's language, Arabic right to left, and untrusted names isolated."""

import io
import re

import pytest

from extensions import db
from models import SupplierSku

from .dropship_support import make_supplier_order_fixture, words  # noqa: F401
from .pages import html_tag, text
from .test_dropship_orders import resolve_form


@pytest.fixture
def speaking(login, make_user):
    """speaking(language, role="operator") -> a client of a user who chose that language."""

    def speaking(language: str, role: str = "operator"):
        return login(make_user(role=role, language=language))

    return speaking


# --- the Orders screen -------------------------------------------------------------------


def test_the_orders_list_reads_in_french(speaking, make_supplier_order):
    so = make_supplier_order("pending")
    resp = speaking("fr").get("/dropship")
    assert resp.status_code == 200
    assert 'lang="fr"' in html_tag(resp) and 'dir="ltr"' in html_tag(resp)
    seen = words(resp)
    for phrase in ("Historique des commandes", "Tout sélectionner sur cette page",
                   "Traiter la sélection", "Fournisseur", "Mode de livraison", "À traiter",
                   "En cours"):
        assert phrase in seen, phrase
    assert ">Traiter</button>" in text(resp)
    assert "Process selected" not in seen and "Select all on this page" not in seen
    # The reference stays left to right; the supplier's name is isolated.
    assert f'dir="ltr">{so.reference}</a>' in text(resp)
    assert f"<bdi>{so.supplier.name}</bdi>" in text(resp)


def test_the_orders_list_reads_in_arabic_right_to_left(speaking, make_supplier_order):
    make_supplier_order("pending")
    resp = speaking("ar").get("/dropship")
    assert 'lang="ar"' in html_tag(resp) and 'dir="rtl"' in html_tag(resp)
    seen = words(resp)
    for phrase in ("سجل الطلبات", "تحديد الكل في هذه الصفحة", "معالجة المحدد", "للمعالجة"):
        assert phrase in seen, phrase
    assert ">معالجة</button>" in text(resp)
    assert "Process selected" not in seen


def test_the_browser_language_is_used_when_the_user_chose_none(login, make_supplier_order):
    make_supplier_order("pending")
    resp = login("operator").get("/dropship", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Traiter la sélection" in words(resp)


def test_an_empty_tab_says_what_to_do_in_french(speaking):
    resp = speaking("fr").get("/dropship?tab=errors")
    assert "Aucune commande fournisseur n'est en erreur." in words(resp)


# --- the Resolve form --------------------------------------------------------------------


def test_the_resolve_form_reads_in_french(speaking, make_supplier_order):
    so = make_supplier_order("error")
    resp = speaking("fr").hx_get(f"/dropship/{so.id}/resolve")
    seen = words(resp)
    assert f"Résoudre {so.reference}" in seen
    for phrase in ("Nom du client", "Téléphone", "Adresse", "Ville", "Notre SKU",
                   "Quantité"):
        assert phrase in seen, phrase
    body = text(resp)
    assert ">Enregistrer</button>" in body and ">Enregistrer et traiter</button>" in body
    assert "Annuler la modification" in body
    # Free text typed for the customer follows its own direction; the phone stays LTR.
    assert re.search(r'name="customer_name" dir="auto"', body)
    assert re.search(r'name="phone" type="tel" dir="ltr"', body)


def test_the_resolve_form_reads_in_arabic(speaking, make_supplier_order):
    so = make_supplier_order("error")
    resp = speaking("ar").get(f"/dropship/{so.id}/resolve")
    assert 'dir="rtl"' in html_tag(resp)
    seen = words(resp)
    assert "معالجة خطأ" in seen and "اسم الزبون" in seen and "المدينة" in seen
    body = text(resp)
    assert ">حفظ</button>" in body and ">حفظ ومعالجة</button>" in body
    assert f'<bdi dir="ltr">{so.reference}</bdi>' in body


def test_a_refused_resolve_tells_a_french_user_why_in_french(speaking, make_supplier_order):
    so = make_supplier_order("error")
    line = so.lines[0]
    resp = speaking("fr").post(f"/dropship/{so.id}/resolve", htmx=True, data=resolve_form(
        so, phone="12", address="court", **{f"quantity-{line.id}": "0"}))
    assert resp.status_code == 422
    messages = dict(re.findall(rf'id="err-{so.id}-([\w-]+)">([^<]+)<', text(resp)))
    assert messages == {"phone": "« 12 » n'est pas un numéro de téléphone.",
                        "address": "Trop court pour une livraison.",
                        f"quantity-{line.id}": "Entre 1 et 999."}
    assert "Veuillez corriger les champs signalés ; rien n'a été enregistré." in words(resp)


def test_a_resolve_of_a_shipped_order_is_refused_in_french(speaking, make_supplier_order):
    so = make_supplier_order("shipped")
    resp = speaking("fr").post(f"/dropship/{so.id}/resolve", htmx=True, data=resolve_form(so))
    assert resp.status_code == 409
    assert f"La commande fournisseur {so.reference} est" in words(resp)
    assert "ses détails sont verrouillés" in words(resp)


def test_a_saved_resolve_confirms_in_french(speaking, make_supplier_order):
    so = make_supplier_order("error")
    resp = speaking("fr").post(f"/dropship/{so.id}/resolve", htmx=True,
                               data=resolve_form(so, city="Fès"))
    assert resp.status_code == 200
    assert "Enregistré : ville : « " in words(resp) and "→ « Fès »" in words(resp)


# --- Process ----------------------------------------------------------------------------


def test_a_refused_process_tells_a_french_user_why_in_french(speaking, make_supplier_order):
    so = make_supplier_order("error")
    resp = speaking("fr").post(f"/dropship/{so.id}/process", htmx=True)
    assert resp.status_code == 200
    assert (f"Rien n'a été fait : {so.reference} est en erreur : résolvez-la d'abord"
            in words(resp))
    assert "Nothing done" not in words(resp)


def test_a_bulk_process_lists_refusals_in_french(speaking, make_supplier_order):
    broken = make_supplier_order("error")
    resp = speaking("fr").post("/dropship/process", htmx=True,
                               data={"ids": [str(broken.id), "999999"]})
    seen = words(resp)
    assert "2 n'ont pas pu être mises en file d'attente :" in seen
    assert "#999999 : commande fournisseur introuvable" in seen
    assert "Rien n'a été mis en file d'attente." in seen


def test_a_process_queued_notice_reads_in_arabic(speaking, make_supplier_order):
    so = make_supplier_order("pending")
    resp = speaking("ar").post(f"/dropship/{so.id}/process", htmx=True)
    assert f"تمت إضافة {so.reference} إلى قائمة الانتظار لدى" in words(resp)
    assert "جارٍ المعالجة…" in words(resp)


# --- supplier settings and their files ------------------------------------------------------


def upload(data: bytes, name: str) -> dict:
    """A multipart form with one file."""
    return {"file": (io.BytesIO(data), name)}


def test_a_mapping_file_report_gives_its_reasons_in_french(speaking, make_supplier,
                                                           make_product):
    atlas = make_supplier(name="Atlas Files", kind="csv", default_shipping_method="Standard")
    make_product(sku="WATCH-X8", stock=0)
    body = (b"sku;supplier_sku;cost\r\n"
            b"WATCH-X8;ATL-SW;12,50\r\n"
            b"TELE-99;ATL-TV;10\r\n"
            b"WATCH-X8;;deux cents\r\n")
    resp = speaking("fr", role="manager").post(
        f"/dropship/suppliers/{atlas.id}/skus/upload", htmx=True,
        data=upload(body, "mappings.csv"), content_type="multipart/form-data")
    assert resp.status_code == 200
    seen = words(resp)
    assert "mappings.csv — ajoutées : 1, mises à jour : 0, inchangées : 0, refusées : 2." in seen
    assert "Le SKU « TELE-99 » n'est pas dans le catalogue." in seen
    assert "Le SKU fournisseur est vide." in seen
    assert "Le coût « deux cents » n'est pas un montant (écrivez 12.50 ou 12,50)." in seen
    assert db.session.query(SupplierSku).count() == 1


def test_an_unreadable_mapping_file_is_explained_in_arabic(speaking, make_supplier):
    atlas = make_supplier(name="Atlas Files", kind="csv")
    resp = speaking("ar", role="manager").post(
        f"/dropship/suppliers/{atlas.id}/skus/upload", htmx=True,
        data=upload(b"sku,supplier_sku\n", "mappings.csv"), content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "لا يحتوي الملف على أي صف تحت رأسه." in words(resp)
    assert "لم يتغير شيء." in words(resp)


def test_a_status_file_report_reads_in_french(speaking, make_supplier_order):
    so = make_supplier_order("pending")
    body = (f"reference,status,tracking_number\n"
            f"{so.reference},expédié,SBX1\n"
            f"#9-9,accepté,\n"
            f"{so.reference},perdu,\n").encode()
    resp = speaking("fr", role="manager").post(
        f"/dropship/suppliers/{so.supplier_id}/status-file", htmx=True,
        data=upload(body, "statut.csv"), content_type="multipart/form-data")
    assert resp.status_code == 200
    seen = words(resp)
    assert "statut.csv — appliquées : 0, sans changement : 0, refusées : 3." in seen
    assert "Le statut « perdu » est inconnu" in seen
    assert "#9-9 n'est pas une commande de" in seen
    assert "Le fichier indique" in seen


def test_the_supplier_pages_read_in_french(speaking, make_supplier):
    atlas = make_supplier(name="Atlas Files", kind="csv")
    c = speaking("fr", role="manager")
    listing = words(c.get("/dropship/suppliers"))
    assert "Ajouter un fournisseur" in listing and "Fichiers CSV" in listing
    page = c.get(f"/dropship/suppliers/{atlas.id}")
    seen = words(page)
    for phrase in ("Correspondances de SKU", "Correspondances de livraison",
                   "Fichiers de bons de commande", "Importer un fichier de statut",
                   "Mode de livraison par défaut"):
        assert phrase in seen, phrase
    assert re.search(r'<option[^>]*value="csv"[^>]*>Fichiers CSV</option>', text(page))


def test_a_refused_supplier_save_says_why_in_french(speaking, make_supplier):
    make_supplier(name="Atlas Files", kind="csv")
    resp = speaking("fr", role="manager").post("/dropship/suppliers/new", data={
        "name": "Atlas Files", "kind": "csv", "poll_interval_minutes": "5"})
    assert resp.status_code == 422
    assert "Un autre fournisseur s'appelle déjà « Atlas Files »." in words(resp)


# --- history and trail ----------------------------------------------------------------------


def test_the_history_reads_in_arabic(speaking, make_supplier_order):
    make_supplier_order("shipped")
    resp = speaking("ar").get("/dropship/history")
    seen = words(resp)
    assert 'dir="rtl"' in html_tag(resp)
    assert "سجل الطلبات" in seen
    assert "مرجع المورد" in seen and "الرسالة" in seen


def test_the_trail_reads_in_french(speaking, make_supplier_order):
    so = make_supplier_order("submitted")
    resp = speaking("fr").get(f"/dropship/lines/{so.lines[0].order_line_id}/trail")
    assert resp.status_code == 200
    seen = words(resp)
    assert "Parcours de" in seen and "Commande fournisseur" in seen
