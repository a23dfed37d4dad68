"""The call screen, the team view and the queue settings in French and in Arabic."""

import re
from datetime import timedelta

import pytest

from models import utcnow
from models.phones import normalize_phone

from .pages import html_tag, squash
from .test_calls import body, card_order, error_box, next_call, record, strip, visible

ANNOUNCE = re.compile(r'<div id="call-announce" hx-swap-oob="innerHTML">(.*?)</div>', re.S)


@pytest.fixture
def lead(make_order, make_product):
    """lead(age_minutes, **overrides): a new order with one line, that old."""
    argan = make_product(sku="ARG-250", name="زيت الأركان 250ml", price_cents=9900, stock=20)

    def make(age_minutes: int = 60, phone: str = "0612345678", **overrides):
        overrides.setdefault("phone_normalized", normalize_phone(phone))
        overrides.setdefault("lines", [(argan, 1)])
        return make_order(phone=phone, created_at=utcnow() - timedelta(minutes=age_minutes),
                          **overrides)

    return make


def announced(resp) -> str:
    """What the live region is told after an outcome."""
    found = ANNOUNCE.search(body(resp))
    assert found, "the response does not update the live region"
    return squash(found.group(1))


def test_agent_card_in_french(speaker, lead):
    order = lead(customer_name="Fatima Zahra", city="Casablanca")
    agent = speaker("agent", "fr")
    assert 'lang="fr" dir="ltr"' in html_tag(agent.get("/calls/"))
    card = next_call(agent)
    assert card_order(card) == order.id
    page = visible(card)
    for text in ("Confirmée", "Pas de réponse", "Rappeler plus tard…", "Annulée…", "Fausse…",
                 "Pourquoi est-elle annulée ?", "Prix trop élevé", "Montant à encaisser",
                 f"Commande #{order.id}", "appels aujourd’hui", "taux de confirmation"):
        assert text in page, text
    assert "Confirmed" not in page and "No answer" not in page
    assert "99,00" in page  # money in French format
    assert strip(card)["appels aujourd’hui"] == "0"


def test_agent_card_in_arabic_is_right_to_left(speaker, lead):
    order = lead(customer_name="فاطمة الزهراء", city="الدار البيضاء")
    agent = speaker("agent", "ar")
    page = agent.get("/calls/")
    assert 'lang="ar" dir="rtl"' in html_tag(page)
    assert "قائمة المكالمات" in visible(page)
    card = next_call(agent)
    text = visible(card)
    for label in ("مؤكد", "لا يجيب", "الاتصال لاحقاً…", "ملغى…", "وهمي…",
                  "السعر مرتفع جداً", "لماذا أُلغي الطلب؟", "المبلغ المطلوب تحصيله"):
        assert label in text, label
    assert 'aria-label="نتيجة المكالمة"' in body(card)
    assert "No answer" not in text
    markup = body(card)
    # Names and products are isolated, so Latin and Arabic never reorder each other.
    assert "<bdi>فاطمة الزهراء</bdi>" in markup
    assert "<bdi>زيت الأركان 250ml</bdi>" in markup
    assert '<a class="phone" href="tel:+212612345678" dir="ltr">0612345678</a>' in markup
    assert card_order(card) == order.id


def test_outcome_announces_what_was_recorded_in_each_language(speaker, lead):
    first = lead(90)
    second = lead(30, phone="0661223344")
    agent = speaker("agent", "fr")
    done = record(agent, next_call(agent), "confirmed")
    assert card_order(done) == second.id
    assert announced(done) == (f"Commande #{first.id} confirmée. "
                               f"Suivante : commande #{second.id}.")
    last = record(agent, done, "canceled", reason="Price too high")
    assert announced(last) == f"Commande #{second.id} annulée. Plus aucune commande à appeler."


def test_outcome_announcement_in_arabic_and_english(speaker, lead, login):
    first = lead(90)
    second = lead(30, phone="0661223344")
    agent = speaker("agent", "ar")
    done = record(agent, next_call(agent), "no_answer")
    assert announced(done) == (f"الطلب #{first.id}: تم تسجيل عدم الرد. "
                               f"التالي: الطلب #{second.id}.")
    english = login("agent")
    third = lead(10, phone="0677889900")
    done = record(english, next_call(english), "confirmed")
    assert announced(done) == f"Order #{third.id} confirmed. No more orders to call."


def test_refusals_speak_the_agents_language(speaker, lead):
    lead()
    agent = speaker("agent", "fr")
    card = next_call(agent)
    line_id = re.search(r'name="qty-(\d+)"', body(card)).group(1)
    resp = record(agent, card, "confirmed", **{f"qty-{line_id}": "deux"})
    assert resp.status_code == 422
    assert "« deux » n’est pas une quantité." in error_box(resp)[1]
    resp = record(agent, card, "call_later", callback="custom")
    assert "Choisissez la date et l’heure du rappel." in error_box(resp)[1]


def test_team_and_settings_in_french(speaker, make_user):
    make_user(role="agent", name="Omar Benali")
    manager = speaker("manager", "fr")
    team = manager.get("/calls/team")
    assert 'lang="fr" dir="ltr"' in html_tag(team)
    page = visible(team)
    for text in ("Équipe d'appel", "rappels à faire", "nouvelles commandes",
                 "En appel", "Dernière action", "Appels aujourd’hui", "libre", "Attribuer",
                 "Réglages de la file"):
        assert text in page, text
    settings = visible(manager.get("/calls/settings"))
    for text in ("Réglages de la file d’appels", "Annuler comme injoignable après (tentatives)",
                 "Retour à l’équipe"):
        assert text in settings, text
    refused = manager.post("/calls/settings", data={
        "retry_delay_minutes": 30, "max_attempts": 3, "claim_timeout_minutes": 10,
        "phone_region": "UK"})
    assert refused.status_code == 422
    assert "« UK » n’est pas un code pays" in visible(refused)


def test_team_and_settings_in_arabic_are_right_to_left(speaker, make_user):
    make_user(role="agent", name="عمر بنعلي")
    manager = speaker("manager", "ar")
    team = manager.get("/calls/team")
    assert 'lang="ar" dir="rtl"' in html_tag(team)
    page = visible(team)
    for text in ("في مكالمة", "مكالمات اليوم", "متاح", "إسناد", "إعدادات قائمة الانتظار"):
        assert text in page, text
    assert "<bdi>عمر بنعلي</bdi>" in body(team)
    settings = manager.get("/calls/settings")
    assert 'dir="rtl"' in html_tag(settings)
    assert "إعدادات قائمة المكالمات" in visible(settings)


def test_browser_language_is_used_without_a_saved_choice(login, lead):
    lead()
    agent = login("agent")
    card = agent.post("/calls/next", htmx=True, headers={"Accept-Language": "fr-MA,fr;q=0.9"})
    assert "Pas de réponse" in visible(card)
