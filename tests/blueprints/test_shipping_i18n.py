"""The shipping desk, scan mode, packing slips and settings in French and in Arabic."""

import html
import json
import re

import pytest
from sqlalchemy import update

from extensions import db
from models import Actor, Parcel, utcnow
from models.orders.operations import change_confirmation
from models.shipping.detection import validate_rule
from models.shipping.operations import NO_CARRIER_ERROR, record_failure

from .pages import html_tag, squash, text

MISSING_ORDER = 999_999


def visible(resp) -> str:
    """The page's text without tags, whitespace collapsed."""
    return squash(re.sub(r"<[^>]+>", " ", text(resp)))


def tab_names(resp) -> dict[str, str]:
    """data-tab -> the tab's text (name and count) on the desk."""
    found = re.findall(r'data-tab="([a-z_]+)"\s+data-count="\d+">(.*?)</a>', text(resp), re.S)
    return {tab: squash(re.sub(r"<[^>]+>", " ", body)) for tab, body in found}


def buttons(resp) -> list[str]:
    """The texts of the page's buttons."""
    return [squash(b) for b in re.findall(r"<button[^>]*>(.*?)</button>", text(resp), re.S)]


def scan_message(resp) -> str:
    """The message of the one scan entry an htmx scan answers with."""
    return squash(re.search(r'<strong class="scan-message">(.*?)</strong>', text(resp),
                            re.S).group(1))


def report_header(resp) -> str:
    """The bulk report's summary line."""
    return squash(re.search(r"<header[^>]*>(.*?)</header>", text(resp), re.S).group(1))


def report_reasons(resp) -> dict[int, str]:
    """Order id -> the bulk report's text for it (the reason when refused)."""
    found = re.findall(r'<li class="(?:ok|refused)" data-order="(\d+)" data-ok="(?:yes|no)">'
                       r"(.*?)</li>", text(resp), re.S)
    return {int(i): squash(re.sub(r"<[^>]+>", " ", body)).split(" ", 2)[2]
            for i, body in found}


# -- the desk -----------------------------------------------------------------------

def test_desk_in_french_names_tabs_filters_and_bulk_buttons(speaker, parcel_order):
    parcel_order("created")
    client = speaker("operator", "fr")
    resp = client.get("/shipping/")
    assert resp.status_code == 200
    assert 'lang="fr" dir="ltr"' in html_tag(resp)
    tabs = tab_names(resp)
    assert tabs["all"].startswith("Tous") and tabs["created"].startswith("Créé")
    assert tabs["stuck"].startswith("Bloqués") and tabs["errors"].startswith("Erreurs")
    assert {"Préparé", "Retourné", "Annulée", "Synchroniser maintenant",
            "Imprimer les bordereaux", "Effacer la sélection"} <= set(buttons(resp))
    page = visible(resp)
    for shown in ("Expédition", "Mode scan", "Confirmée du", "Bloqués uniquement",
                  "Aucune sélection", "Transporteur", "Selon le transporteur", "Bordereau"):
        assert shown in page, shown
    assert "Stuck only" not in page and "None selected" not in page


def test_desk_script_texts_come_in_the_page_language(speaker, parcel_order):
    parcel_order("created")
    page = speaker("operator", "fr").get("/shipping/").get_data(as_text=True)
    said = json.loads(html.unescape(re.search(r'data-texts="([^"]*)"', page).group(1)))
    assert said["none"] == "Aucune sélection"
    assert said["selected"] == "Sélectionnées : {n}"
    assert said["progress"] == "{n} commandes traitées sur {total}…"


def test_desk_in_arabic_is_right_to_left_with_translated_tabs(speaker, parcel_order):
    parcel_order("created")
    resp = speaker("operator", "ar").get("/shipping/")
    assert 'lang="ar" dir="rtl"' in html_tag(resp)
    tabs = tab_names(resp)
    assert tabs["all"].startswith("الكل") and tabs["stuck"].startswith("عالقة")
    assert tabs["errors"].startswith("أخطاء")
    assert {"مزامنة الآن", "طباعة قسائم التغليف", "مسح التحديد"} <= set(buttons(resp))
    assert "وضع المسح" in visible(resp)
    # Customer data and tracking numbers keep their own direction inside the Arabic page.
    assert re.search(r'<code dir="ltr">SBX\d+</code>', text(resp))
    assert re.search(r"<td><bdi>[^<]+</bdi></td>", text(resp))


def test_desk_empty_tab_explains_in_french(speaker):
    resp = speaker("operator", "fr").get("/shipping/?stuck=1")
    assert "Rien n'est bloqué" in visible(resp)


# -- bulk report --------------------------------------------------------------------

def test_bulk_report_reasons_are_french(speaker, parcel_order):
    created, _ = parcel_order("created")
    client = speaker("operator", "fr")
    resp = client.post("/shipping/bulk", htmx=True, data={
        "action": "fulfilled", "ids": f"{created.id},{MISSING_ORDER}", "view": ""})
    assert resp.status_code == 200
    assert report_header(resp) == "Préparé — réussies : 1, refusées : 1."
    reasons = report_reasons(resp)
    assert reasons[created.id] == "désormais Préparé"
    assert reasons[MISSING_ORDER] == "Cette commande n'existe pas."


def test_bulk_sync_report_is_arabic(speaker, make_order, make_carrier):
    unregistered = make_order(carrier=make_carrier())
    resp = speaker("operator", "ar").post("/shipping/bulk", htmx=True, data={
        "action": "sync", "ids": str(unregistered.id), "view": ""})
    assert report_header(resp) == "مزامنة الآن: تم تنفيذ 0، ورُفض 1."
    assert report_reasons(resp)[unregistered.id] == (
        "لم يُسجَّل بعد لدى شركة شحن: لا يوجد ما يُسأل عنه.")


def test_bulk_without_htmx_flashes_the_report_in_french(speaker, parcel_order):
    client = speaker("operator", "fr")
    resp = client.post("/shipping/bulk", data={"action": "canceled",
                                               "ids": str(MISSING_ORDER), "view": ""})
    page = visible(client.get(resp.headers["Location"]))
    assert "Annulée — réussies : 0, refusées : 1." in page
    assert f"#{MISSING_ORDER}: Cette commande n'existe pas." in page


def test_bulk_refusal_of_the_selection_is_french(speaker):
    resp = speaker("operator", "fr").post("/shipping/bulk", htmx=True,
                                          data={"action": "fulfilled"})
    assert resp.status_code == 422
    assert "Sélectionnez au moins une commande." in visible(resp)


# -- scan mode ----------------------------------------------------------------------

def test_scan_screen_in_french(speaker):
    resp = speaker("operator", "fr").get("/shipping/scan")
    page = visible(resp)
    for shown in ("Mode scan", "Numéro de commande ou numéro de suivi", "Scans de cette session",
                  "Retour au poste d'expédition"):
        assert shown in page, shown
    assert 'placeholder="Scannez, ou tapez #123 puis Entrée"' in text(resp)


def test_scan_screen_in_arabic_from_the_browser_language(login, make_user):
    client = login(make_user(role="operator"))  # no saved language: the browser's counts
    resp = client.get("/shipping/scan", headers={"Accept-Language": "ar"})
    assert 'lang="ar" dir="rtl"' in html_tag(resp)
    page = visible(resp)
    assert "وضع المسح" in page and "رقم الطلب أو رقم التتبع" in page
    assert re.search(r'<input id="scan-code"[^>]*placeholder="امسح، أو اكتب', text(resp))


def test_scan_refusal_and_success_are_french(speaker, parcel_order):
    packed, _ = parcel_order("fulfilled")
    waiting, _ = parcel_order("created")
    client = speaker("operator", "fr")
    refused = client.post("/shipping/scan", data={"code": f"#{packed.id}"}, htmx=True)
    assert refused.status_code == 409
    assert scan_message(refused) == (f"Déjà emballée : #{packed.id} a déjà été scannée ; "
                                     "rien n'a changé.")
    done = client.post("/shipping/scan", data={"code": f"#{waiting.id}"}, htmx=True)
    assert scan_message(done) == f"#{waiting.id} emballée."
    assert ">Annuler</button>" in text(done)
    unknown = client.post("/shipping/scan", data={"code": "NOPE123"}, htmx=True)
    assert scan_message(unknown) == "Aucune commande ni aucun colis avec ce code."


def test_refused_undo_is_arabic(speaker, parcel_order):
    order, parcel = parcel_order("fulfilled")
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id)
                       .values(handed_over_at=utcnow()))
    db.session.commit()
    resp = speaker("operator", "ar").post(f"/shipping/scan/{order.id}/undo", htmx=True)
    assert resp.status_code == 409
    assert scan_message(resp) == (f"سُلّم الطلب #{order.id} إلى شركة الشحن بالفعل؛ "
                                  "لا يمكن إلغاء تغليفه.")
    assert "طُلب من شركة الشحن استلامه بالفعل." in visible(resp)


# -- slips and settings -------------------------------------------------------------

def test_slips_in_french_keep_customer_data_as_typed(speaker, parcel_order):
    order, _ = parcel_order("created", customer_name="محمد العلوي")
    resp = speaker("operator", "fr").get(f"/shipping/slips?ids={order.id},{MISSING_ORDER}")
    page = visible(resp)
    for shown in ("Bordereaux d'emballage", "Montant à encaisser", "Client", "Téléphone",
                  "Adresse", "Produit", "Qté", "Transporteur"):
        assert shown in page, shown
    assert "1 bordereau, un par page imprimée." in page
    assert f"Aucune commande avec le numéro #{MISSING_ORDER}" in page
    assert "<bdi>محمد العلوي</bdi>" in text(resp)
    assert re.search(r'<bdi dir="ltr">[^<]*\d', text(resp))  # the phone never flips
    assert f'aria-label="Code-barres #{order.id}"' in text(resp)


def test_settings_in_arabic(speaker):
    resp = speaker("manager", "ar").get("/shipping/settings")
    page = visible(resp)
    assert "متى يُعتبر الطرد عالقًا؟" in page
    assert "عالق دون رقم تتبع بعد التأكيد منذ (أيام)" in page
    assert "العودة إلى مكتب الشحن" in page


# -- detection and carrier rules (domain messages) ----------------------------------

def test_detected_carrier_is_explained_in_french(speaker, make_carrier, make_order, make_user):
    poste = make_carrier(name="Poste Maroc", settings={"detect_as": ["s10:ma"]})
    agent = make_user("agent")
    order = make_order(claimed_by_id=agent.id)
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    client = speaker("operator", "fr")
    resp = client.post(f"/orders/{order.id}/tracking", htmx=True,
                       data={"tracking_number": "RR123456785MA", "carrier_id": ""})
    assert resp.status_code == 200
    assert (f"{poste.name} détecté (sûr à 90 %) : un numéro S10 International Standard "
            "valide." in visible(resp))


@pytest.mark.parametrize("language, said", [
    ("fr", "Le motif ne contient que des espaces et des tirets"),
    ("ar", "لا يحتوي النمط إلا على مسافات وشرطات"),
])
def test_a_broken_tracking_rule_is_refused_in_the_managers_language(app, language, said):
    with app.test_request_context(headers={"Accept-Language": language}):
        assert validate_rule("prefix", " - ").startswith(said)


def test_a_registration_error_of_ours_is_shown_in_french(speaker, parcel_order):
    """The job stores it in English; the desk shows it in the reader's language."""
    _order, parcel = parcel_order("created")
    record_failure([parcel.id], NO_CARRIER_ERROR)
    db.session.commit()
    page = visible(speaker("operator", "fr").get("/shipping/?error=1"))
    assert ("Pas de transporteur pour cette commande : choisissez-en un sur la page de la "
            "commande.") in page
    assert NO_CARRIER_ERROR not in page


def test_the_doors_refusal_of_a_desk_move_and_a_scan_is_french(speaker, parcel_order):
    shipped, _ = parcel_order("shipped")
    client = speaker("operator", "fr")
    resp = client.post("/shipping/bulk", htmx=True, data={
        "action": "fulfilled", "ids": str(shipped.id), "view": ""})
    reason = report_reasons(resp)[shipped.id]
    assert reason.startswith(f"La commande #{shipped.id} est ")
    assert reason.endswith("elle ne peut pas passer à Préparé.")
    scanned = client.post("/shipping/scan", data={"code": f"#{shipped.id}"}, htmx=True)
    assert scanned.status_code == 409
    assert scan_message(scanned) == reason
