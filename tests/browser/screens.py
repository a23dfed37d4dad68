"""The main screens of each role, and one set of data that gives every one of them content.

Shared by the accessibility checks (axe, focus, right-to-left layout) and the Flask-client
checks (landmarks, untranslated text). The seeded data is written in Arabic or as codes,
so that text the app leaves untranslated stands out from the customers' own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, expect

from extensions import db
from models import Actor, User
from models.calls.queue import claim_next
from models.settings import CallSettings

PASSWORD = "screens-pw-1"
TIMEOUT = 10_000
LANGUAGES = ("en", "ar")


@dataclass(frozen=True)
class Screen:
    """A page a person of this role opens; `path` may name {order} (the seeded order)."""

    name: str
    role: str | None
    path: str
    held: bool = False  # the agent holds an order (the call card), else the idle screen

    def url(self, seeded: Seeded) -> str:
        """The screen's path with the seeded ids filled in."""
        return self.path.format(order=seeded.order_id)


SCREENS = [
    Screen("login", None, "/login"),
    Screen("call card", "agent", "/calls/", held=True),
    Screen("call idle", "agent", "/calls/"),
    Screen("orders list", "operator", "/orders/"),
    Screen("order detail", "operator", "/orders/{order}"),
    Screen("new order", "operator", "/orders/new"),
    Screen("import upload", "operator", "/intake/csv"),
    Screen("shipping desk", "operator", "/shipping/"),
    Screen("scan", "operator", "/shipping/scan"),
    Screen("dropship orders", "operator", "/dropship"),
    Screen("stock", "operator", "/stock/"),
    Screen("status board", "manager", "/boards/"),
    Screen("money board", "manager", "/boards/money"),
    Screen("remittances", "manager", "/boards/money/remittances"),
    Screen("call team", "manager", "/calls/team"),
    Screen("carriers", "manager", "/settings/carriers"),
    Screen("channels", "manager", "/settings/channels"),
    Screen("suppliers", "manager", "/dropship/suppliers"),
    Screen("routing", "manager", "/settings/routing"),
    Screen("users", "admin", "/settings/users"),
]
BY_NAME = {screen.name: screen for screen in SCREENS}

# Data values the fixture seeds that are Latin by nature (codes, references, usernames).
SEEDED_TOKENS = ("ARG-250", "SAV-200", "atlas", "amana", "SBX", "WH-CASA")


@dataclass
class Seeded:
    """What the fixture made: a user per role (two agents) and the order shown in detail."""

    users: dict[str, User] = field(default_factory=dict)
    order_id: int = 0

    def user_for(self, screen: Screen) -> User | None:
        """Who opens this screen (the holding agent for the call card)."""
        if screen.role is None:
            return None
        return self.users["agent-held" if screen.held else screen.role]

    def speak(self, language: str) -> None:
        """Every seeded user's saved language becomes this one."""
        for user in self.users.values():
            user.language = "" if language == "en" else language
        db.session.commit()


@pytest.fixture
def seeded(app, make_user, make_warehouse, make_product, make_channel, make_carrier,
           make_order, make_supplier, parcel_order, routed_order, confirm,
           make_dropship_product) -> Seeded:
    """Users of every role and orders for every main screen, in Arabic or as codes."""
    data = Seeded()
    warehouse = make_warehouse(code="WH-CASA", name="مستودع الدار البيضاء")
    channel = make_channel(name="متجر الأطلس", code="atlas")
    carrier = make_carrier(name="أمانة", code="amana")
    argan = make_product(sku="ARG-250", name="زيت الأركان", warehouse=warehouse, stock=40)
    soap = make_product(sku="SAV-200", name="صابون بلدي", warehouse=warehouse, stock=3)
    customer = {"channel": channel, "address": "12 زنقة ابن بطوطة", "city": "الدار البيضاء"}
    for n, name in enumerate(("فاطمة الزهراء", "كريم التازي", "سعاد بناني")):
        make_order(lines=[(argan, 1 + n)], customer_name=name, **customer)
    order, _parcel = parcel_order("fulfilled", carrier=carrier, lines=[(soap, 1)],
                                  customer_name="يوسف العلوي", **customer)
    data.order_id = order.id
    supplier = make_supplier(name="مورد الشمال")
    dropped = make_dropship_product(supplier, supplier_sku="N-77", sku="DS-77",
                                    name="إبريق شاي")
    confirm(routed_order([(dropped, 2)], customer_name="نادية", **customer))
    for key, role, name in (("agent-held", "agent", "سلمى"), ("agent", "agent", "عمر"),
                            ("operator", "operator", "حسن"), ("manager", "manager", "ليلى"),
                            ("admin", "admin", "مريم")):
        data.users[key] = make_user(role=role, password=PASSWORD, name=name)
    claim_next(Actor.of(data.users["agent-held"]), CallSettings.load())
    db.session.commit()
    return data


def open_screen(page: Page, live_server: str, seeded: Seeded, screen: Screen,
                language: str) -> None:
    """Log in as the screen's user speaking `language` (anonymous: the browser asks for
    it) and open the screen, waiting until its scripts have run."""
    page.set_default_timeout(TIMEOUT)
    seeded.speak(language)
    page.set_extra_http_headers({"Accept-Language": language})
    user = seeded.user_for(screen)
    if user is not None:
        page.goto(f"{live_server}/login")
        page.locator("#username").fill(user.username)
        page.locator("#password").fill(PASSWORD)
        page.locator("article.login button[type=submit]").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"{live_server}{screen.url(seeded)}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("lang", language)
