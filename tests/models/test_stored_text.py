"""System texts stored in English read back in the reader's language (models/stored_text)."""

import pytest

from models.stored_text import EXACT, PATTERNS, shown

# Stored English -> (French, Arabic), values (suppliers, tracking, SKUs) kept as stored.
SAMPLES = {
    "unreachable after 3 attempts": ("injoignable après 3 tentatives",
                                     "تعذّر الوصول إليه بعد 3 محاولات"),
    "Price too high — found it cheaper": ("Prix trop élevé — found it cheaper",
                                          "السعر مرتفع جداً — found it cheaper"),
    "by Salma Idrissi": ("par Salma Idrissi", "بواسطة Salma Idrissi"),
    "Timed out. Cancel it with Atlas Supply by hand: Wrong number": (
        "Timed out. Annulez-la à la main auprès de Atlas Supply : Mauvais numéro",
        "Timed out. ألغه يدويًا لدى Atlas Supply: رقم خاطئ"),
    "scanned CB123456MA": ("scanné CB123456MA", "مُسح CB123456MA"),
    "from Shopify Casa": ("depuis Shopify Casa", "من Shopify Casa"),
    "line ARG-250 removed": ("ligne ARG-250 supprimée", "حُذف السطر ARG-250"),
    "quantity of ARG-250": ("quantité de ARG-250", "كمية ARG-250"),
    "order CB-1042 canceled": ("commande CB-1042 annulée", "أُلغي الطلب CB-1042"),
    "Not every product is managed here (ARG-250, SAV-1).": (
        "Tous les produits ne sont pas gérés ici (ARG-250, SAV-1).",
        "ليست كل المنتجات مُدارة هنا (ARG-250, SAV-1)."),
    "told the channel: tracking CB1 (Amana)": ("canal informé : suivi CB1 (Amana)",
                                               "أُبلغت القناة: رقم التتبع CB1 (Amana)"),
    "told the channel: shipped without a tracking number": (
        "canal informé : expédiée sans numéro de suivi", "أُبلغت القناة: شُحن دون رقم تتبع"),
    "tracking CB1 (Amana)": ("suivi CB1 (Amana)", "رقم التتبع CB1 (Amana)"),
    "tracking CB1": ("suivi CB1", "رقم التتبع CB1"),
    "submitted to Atlas Supply": ("envoyée à Atlas Supply", "أُرسل إلى Atlas Supply"),
    "accepted by Atlas Supply as PO-77": ("acceptée par Atlas Supply sous la référence PO-77",
                                          "قبله Atlas Supply بالمرجع PO-77"),
    "accepted by Atlas Supply": ("acceptée par Atlas Supply", "قبله Atlas Supply"),
    "shipped by Atlas Supply, tracking LX99": ("expédiée par Atlas Supply, suivi LX99",
                                               "شحنه Atlas Supply، رقم التتبع LX99"),
    "shipped by Atlas Supply": ("expédiée par Atlas Supply", "شحنه Atlas Supply"),
    "canceled with Atlas Supply: Price too high": (
        "annulée auprès de Atlas Supply : Prix trop élevé",
        "أُلغي لدى Atlas Supply: السعر مرتفع جداً"),
    "canceled by Atlas Supply": ("annulée par Atlas Supply", "ألغاه Atlas Supply"),
    "cancel asked of Atlas Supply: order CB-1042 canceled": (
        "annulation demandée à Atlas Supply : commande CB-1042 annulée",
        "طُلب الإلغاء من Atlas Supply: أُلغي الطلب CB-1042"),
    "tracking added: LX99 (carrier not recognised)": (
        "suivi ajouté : LX99 (transporteur non reconnu)",
        "أُضيف رقم التتبع: LX99 (شركة الشحن غير معروفة)"),
    "tracking added: LX99 (Amana)": ("suivi ajouté : LX99 (Amana)",
                                     "أُضيف رقم التتبع: LX99 (Amana)"),
}


def reading(app, language: str, text: str | None) -> str:
    """What a reader of `language` is shown for a stored text."""
    # Each request has its own app context (the language is remembered in it).
    with app.app_context(), app.test_request_context(headers={"Accept-Language": language}):
        return shown(text)


def test_every_pattern_has_a_sample():
    for pattern, _render in PATTERNS:
        assert any(pattern.fullmatch(text) for text in SAMPLES), pattern.pattern


@pytest.mark.parametrize("stored", sorted(SAMPLES))
def test_parameterised_phrases_in_french_and_arabic(app, stored):
    french, arabic = SAMPLES[stored]
    assert reading(app, "fr", stored) == french
    assert reading(app, "ar", stored) == arabic
    assert reading(app, "en", stored) == stored


def test_every_exact_phrase_is_translated(app):
    for stored in EXACT:
        for language in ("fr", "ar"):
            said = reading(app, language, stored)
            assert said and said != stored, (language, stored)
        assert reading(app, "en", stored) == stored
    assert reading(app, "fr", "packing scan undone") == "scan d'emballage annulé"
    assert reading(app, "ar", "Canceled by the channel") == "ألغته القناة"
    assert reading(app, "fr", "Waiting for the channel to say it is paid.") == \
        "En attente que le canal confirme le paiement."


def test_unknown_text_is_shown_as_stored(app):
    for typed in ("Customer asked to call after Friday prayer", "الزبون مسافر",
                  "Colis refusé par le destinataire", "released early"):
        assert reading(app, "fr", typed) == typed
        assert reading(app, "ar", typed) == typed
    assert reading(app, "fr", None) == ""
    assert reading(app, "fr", "") == ""


def test_supplier_names_with_regex_characters_or_arabic(app):
    for name in ("Atlas (Supply) [ma]+*?.$^|\\1", "مورد الأطلس", "A: B"):
        assert reading(app, "fr", f"submitted to {name}") == f"envoyée à {name}"
        assert reading(app, "ar", f"shipped by {name}, tracking LX99") == \
            f"شحنه {name}، رقم التتبع LX99"
        assert reading(app, "fr", f"canceled by {name}") == f"annulée par {name}"
    assert reading(app, "fr", "canceled with مورد الأطلس: Wrong number") == \
        "annulée auprès de مورد الأطلس : Mauvais numéro"


def test_plural_follows_the_count(app):
    assert reading(app, "ar", "unreachable after 11 attempts") == \
        "تعذّر الوصول إليه بعد 11 محاولة"
    assert reading(app, "fr", "unreachable after 5 attempts") == \
        "injoignable après 5 tentatives"
