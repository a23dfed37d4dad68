"""Demo data: users, catalog, stock, carriers, channels and orders in every status."""

import random
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import click
from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models import (
    Actor,
    AuditEvent,
    Carrier,
    Channel,
    Order,
    OrderLine,
    Parcel,
    ParcelEvent,
    Product,
    StockMovement,
    Supplier,
    SupplierSku,
    TrackingRule,
    User,
    Warehouse,
    utcnow,
)
from models.boards.backfill import date_from_history
from models.boards.check import rebuild_call_times
from models.boards.rollups import rebuild as rebuild_rollups
from models.dropship.mappings import fold
from models.dropship.operations import move as move_supplier_order
from models.dropship.tables import ShippingMapping, SupplierOrder
from models.orders.agent_days import local_day, rebuild_agent_days
from models.orders.operations import change_confirmation, change_shipping, reopen_order
from models.status import Confirmation, DeliveryMode, Shipping
from models.stock.ledger import receive_stock

PASSWORD = "demo"
SHIPPING_FEE_CENTS = 30_00
DAYS = 14

# (username, display name, role)
USERS = [
    ("agent", "Salma Idrissi", "agent"),
    ("operator", "Karim Ouazzani", "operator"),
    ("manager", "Nadia Berrada", "manager"),
    ("admin", "Hicham Tazi", "admin"),
    ("agent2", "Imane Chraibi", "agent"),
    ("agent3", "Mehdi Lahlou", "agent"),
    ("agent4", "Sara Bennis", "agent"),
]
AGENTS = ["agent", "agent2", "agent3", "agent4"]
AGENT_WEIGHTS = [40, 25, 20, 15]

WAREHOUSES = [
    ("CAS", "Casablanca – Aïn Sebaâ", "Casablanca"),
    ("RAK", "Marrakech – Sidi Ghanem", "Marrakech"),
]

# (sku, name, price in MAD, how often it is ordered)
PRODUCTS = [
    ("ARG-OIL-100", "Huile d'argan cosmétique bio 100 ml", 129, 9),
    ("ARG-OIL-250", "Huile d'argan alimentaire 250 ml", 189, 5),
    ("SAV-BELDI-500", "Savon noir beldi à l'eucalyptus 500 g", 79, 6),
    ("GHASSOUL-250", "Ghassoul de l'Atlas 250 g", 79, 4),
    ("ROSE-WATER-200", "Eau de rose de Kelâa M'Gouna 200 ml", 89, 5),
    ("KOHL-ITHMID", "Khôl ithmid traditionnel", 85, 3),
    ("CREAM-ARG-50", "Crème de jour à l'argan 50 ml", 159, 4),
    ("PERF-MUSK-50", "Parfum musc blanc 50 ml", 199, 5),
    ("HAIR-DRY-2200", "Sèche-cheveux ionique 2200 W", 349, 4),
    ("HAIR-STR-PRO", "Lisseur cheveux céramique pro", 299, 4),
    ("PH-CASE-IP15", "Coque silicone iPhone 15", 89, 6),
    ("PH-GLASS-9H", "Verre trempé 9H (lot de 2)", 79, 6),
    ("PH-CHG-25W", "Chargeur rapide USB-C 25 W", 149, 6),
    ("PH-CBL-USBC", "Câble USB-C tressé 2 m", 79, 5),
    ("PH-PWR-20K", "Batterie externe 20 000 mAh", 259, 5),
    ("PH-EAR-TWS", "Écouteurs sans fil Bluetooth 5.3", 229, 7),
    ("PH-HOLD-CAR", "Support téléphone voiture magnétique", 99, 4),
    ("KIT-TAJ-30", "Tajine en terre cuite 30 cm", 159, 3),
    ("KIT-TEA-SET", "Service à thé marocain, théière et 6 verres", 349, 4),
    ("KIT-KNF-SET", "Set de 6 couteaux inox avec support", 199, 3),
    ("KIT-COUS-8L", "Couscoussier inox 8 L", 449, 2),
    ("DJEL-HOM-L", "Djellaba homme en laine, taille L", 599, 2),
    ("DJEL-FEM-M", "Djellaba femme brodée, taille M", 549, 3),
    ("CAFTAN-SATIN", "Caftan satin brodé main", 899, 1),
    ("BABOUCH-CUIR", "Babouches en cuir, pointure 42", 179, 3),
    ("WATCH-SMT-X8", "Montre connectée X8 Ultra", 399, 4),
    ("KIT-AIR-5L", "Friteuse sans huile 5 L", 799, 3),
    ("KIT-BLEND-HOT", "Blender chauffant multifonction", 649, 2),
    ("HOME-MASS-GUN", "Pistolet de massage musculaire", 499, 2),
    ("HOME-VAC-ROBOT", "Aspirateur robot connecté", 899, 1),
]
# sku -> (supplier's sku, cost in MAD, shipping method); these are never stocked.
DROPSHIP = {
    "WATCH-SMT-X8": ("ATL-SW-X8U", 210, "standard"),
    "KIT-AIR-5L": ("ATL-AF-5000", 520, "standard"),
    "KIT-BLEND-HOT": ("ATL-BL-HOT2", 410, "standard"),
    "HOME-MASS-GUN": ("ATL-MG-PRO", 290, "express"),
    "HOME-VAC-ROBOT": ("ATL-RV-S1", 610, "standard"),
}

# (city, region, share of orders, neighbourhoods)
CITIES = [
    ("Casablanca", "Casablanca-Settat", 30,
     ["Maârif", "Aïn Diab", "Hay Hassani", "Sidi Maârouf", "Bourgogne", "Derb Sultan",
      "Aïn Chock", "Sidi Bernoussi", "Oulfa", "Gauthier"]),
    ("Rabat", "Rabat-Salé-Kénitra", 10, ["Agdal", "Hay Riad", "Hassan", "Souissi", "L'Océan"]),
    ("Salé", "Rabat-Salé-Kénitra", 5, ["Tabriquet", "Hay Salam", "Bettana", "Sidi Moussa"]),
    ("Kénitra", "Rabat-Salé-Kénitra", 4, ["Bir Rami", "Maamora", "Val Fleuri"]),
    ("Marrakech", "Marrakech-Safi", 10,
     ["Guéliz", "Hivernage", "Daoudiate", "M'Hamid", "Massira", "Sidi Youssef Ben Ali"]),
    ("Safi", "Marrakech-Safi", 2, ["Biada", "Jrifat", "Kawki"]),
    ("Fès", "Fès-Meknès", 7, ["Saïss", "Narjiss", "Atlas", "Route d'Imouzzer", "Zouagha"]),
    ("Meknès", "Fès-Meknès", 4, ["Hamria", "Bassatine", "Plaisance", "Marjane"]),
    ("Tanger", "Tanger-Tétouan-Al Hoceïma", 8, ["Malabata", "Branes", "Iberia", "Mesnana"]),
    ("Tétouan", "Tanger-Tétouan-Al Hoceïma", 3, ["Touabel", "Sania Ramel", "M'Hannech"]),
    ("Agadir", "Souss-Massa", 6, ["Talborjt", "Hay Dakhla", "Founty", "Les Amicales"]),
    ("Oujda", "L'Oriental", 4, ["Hay Al Qods", "Lazaret", "Sidi Maâfa", "Hay Andalous"]),
    ("El Jadida", "Casablanca-Settat", 3, ["Plateau", "Sidi Bouzid", "Hay Essalam"]),
    ("Mohammedia", "Casablanca-Settat", 3, ["El Alia", "Parc", "Rachidia"]),
    ("Béni Mellal", "Béni Mellal-Khénifra", 2, ["Hay Al Massira", "Ouled Hamdane"]),
]
# Own drivers only cover the two warehouse cities and their suburbs.
LOCAL_CITIES = {"Casablanca": "CAS", "Mohammedia": "CAS", "Marrakech": "RAK"}
SOUTH = {"Marrakech", "Safi", "Agadir", "Béni Mellal"}
LOCAL_SHARE = 0.38

STREETS = [
    "Rue Ibn Battouta", "Boulevard Zerktouni", "Avenue Mohammed V", "Rue Moulay Youssef",
    "Boulevard d'Anfa", "Rue Allal Ben Abdellah", "Avenue Hassan II", "Rue Abou Bakr Seddik",
    "Rue Ibn Sina", "Rue Al Farabi", "Boulevard Abdelmoumen", "Rue Oued Ziz",
    "Avenue des FAR", "Rue Tarik Ibn Ziad", "Rue de Fès", "Avenue Moulay Ismaïl",
]
RESIDENCES = ["Al Manar", "Les Jardins", "Yasmine", "Nakhil", "Al Boustane", "Riad Salam"]
AR_HAY = ["السلام", "النهضة", "الأمل", "المسيرة", "الفتح", "الرياض", "القدس"]

MA_FIRST = [
    "Fatima Zahra", "Khadija", "Salma", "Imane", "Hajar", "Meryem", "Zineb", "Soukaina",
    "Asmae", "Hanane", "Loubna", "Ghizlane", "Kawtar", "Oumaima", "Siham", "Houda",
    "Youssef", "Mohamed", "Ahmed", "Hamza", "Mehdi", "Karim", "Omar", "Ayoub", "Anas",
    "Rachid", "Amine", "Othmane", "Ilyas", "Said", "Abdelilah", "Zakaria", "Badr",
]
MA_LAST = [
    "El Amrani", "Benali", "Alaoui", "Bennani", "Tazi", "El Idrissi", "Berrada", "Chraibi",
    "Benjelloun", "El Fassi", "Ouazzani", "Lahlou", "Sqalli", "Bouzidi", "El Khatib",
    "Ait Ben Haddou", "Naciri", "Zouaoui", "El Ouafi", "Bakkali", "Hajji", "Mansouri",
    "Kettani", "Benkirane", "Saidi", "Ait Lahcen",
]
FR_FIRST = [
    "Camille", "Julien", "Sophie", "Thomas", "Léa", "Nicolas", "Chloé", "Antoine", "Manon",
    "Pierre", "Émilie", "Hugo", "Inès", "Lucas",
]
FR_LAST = [
    "Dubois", "Martin", "Bernard", "Lefèvre", "Moreau", "Laurent", "Girard", "Roux",
    "Fournier", "Mercier", "Garnier", "Chevalier", "Lambert", "Fontaine",
]
AR_FIRST = [
    "محمد", "أحمد", "يوسف", "خديجة", "فاطمة", "مريم", "عبد الله", "حسن", "سعيد", "زينب",
    "ياسين", "نعيمة", "رشيد", "عائشة", "إبراهيم", "سناء",
]
AR_LAST = [
    "الإدريسي", "بنعلي", "العلوي", "التازي", "بناني", "الفاسي", "العمراني", "الوزاني",
    "برادة", "الشرايبي", "المنصوري", "الحجي", "السعيدي", "البقالي",
]
ORDER_NOTES = [
    "Livrer après 18h", "Appeler avant de passer", "Sonner à l'interphone, 3e étage",
    "Laisser au gardien de la résidence", "الرجاء الاتصال قبل التوصيل", "Cadeau, pas de facture",
]
CANCEL_REASONS = [
    "Le client a changé d'avis", "Commande en double", "Trouvé moins cher ailleurs",
    "Délai de livraison trop long", "Le client voulait une autre couleur",
    "Frais de livraison refusés",
]
FAKE_REASONS = [
    "Numéro inexistant", "La personne dit n'avoir rien commandé", "Commande pour plaisanter",
    "Nom et adresse fantaisistes", "Numéro déjà signalé pour fausses commandes",
]
ISSUE_NOTES = [
    "Client injoignable par le livreur", "Adresse incomplète", "Client absent, nouvelle tentative",
    "Colis endommagé au dépôt", "Report demandé par le client",
]
RETURN_NOTES = [
    "Refusé à la livraison", "Client injoignable après 3 passages",
    "Le client ne veut plus la commande", "Refusé : montant contesté",
]

# Outcome -> (share of orders, typical age range in days). The age range only
# orders the outcomes among the orders, so new leads are the freshest ones and
# delivered or returned parcels the oldest.
MIX = {
    "new": (25, (0.0, 1.5)),
    "no_answer": (10, (0.3, 4.0)),
    "call_later": (7, (0.2, 3.0)),
    "canceled": (8, (1.0, 14.0)),
    "fake": (5, (0.5, 14.0)),
    "created": (5, (0.3, 2.5)),
    "fulfilled": (4, (0.8, 3.5)),
    "shipped": (7, (1.5, 6.0)),
    "package_issue": (2, (3.0, 9.0)),
    "delivered": (18, (4.0, 14.0)),
    "in_return": (3, (5.0, 14.0)),
    "returned": (3, (7.0, 14.0)),
    "ship_canceled": (3, (2.0, 14.0)),
}
SHIPPED_OUTCOMES = frozenset(
    {"created", "fulfilled", "shipped", "package_issue", "delivered", "in_return", "returned",
     "ship_canceled"}
)


@dataclass
class _Customer:
    """Who ordered: the phone is kept as its national number plus how it was typed."""

    name: str
    number: str
    style: int
    address: str
    city: str
    region: str


@dataclass
class _Step:
    """One operation in an order's history, made some minutes after the previous one."""

    who: str
    op: str
    to: str
    delay: float
    note: str = ""
    callback: tuple[str, float] | None = None
    tracking: str | None = None


@dataclass
class _Plan:
    """Everything decided about one order before it is written."""

    age: int
    outcome: str
    customer: _Customer | None = None
    channel: int = 0
    local: bool = False
    lines: list[tuple[int, int, str | None]] = field(default_factory=list)
    note: str = ""
    reopened: bool = False
    steps: list[_Step] = field(default_factory=list)


def normalize_phone(raw: str) -> str:
    """A Moroccan number as E.164 (+212…), or "" when it is not one."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("212") and len(digits) == 12:
        digits = digits[3:]
    elif digits.startswith("0") and len(digits) == 10:
        digits = digits[1:]
    return f"+212{digits}" if len(digits) == 9 and digits[0] in "5678" else ""


def format_phone(number: str, style: int) -> str:
    """The national number written the way customers type it into shop forms."""
    local = "0" + number
    pairs = [local[i:i + 2] for i in range(0, 10, 2)]
    rest = " ".join(pairs[1:])
    return [
        local,
        f"+212 {number[0]} {rest}",
        "-".join(pairs),
        f"212{number}",
        " ".join(pairs),
        f"+212{number}",
        f"00212 {number[:3]} {number[3:6]} {number[6:]}",
    ][style % 7]


class _Clock:
    """Back-dates the rows each operation wrote to when it is meant to have happened."""

    def __init__(self) -> None:
        self.marks: dict[type, int] = {AuditEvent: 0, StockMovement: 0, SupplierOrder: 0}

    def stamp(self, when: datetime) -> None:
        """Date every audit event and stock movement written since the last stamp."""
        for model, mark in list(self.marks.items()):
            rows = db.session.scalars(select(model).where(model.id > mark)).all()
            for row in rows:
                row.created_at = when
            if rows:
                self.marks[model] = max(row.id for row in rows)


def seed(orders: int = 300, seed: int = 7) -> dict[str, int]:
    """Write the demo data set into the current session; the caller commits."""
    if orders < 0:
        raise click.ClickException("the number of demo orders cannot be negative")
    _refuse_if_filled()
    rng = random.Random(seed)
    now = utcnow().replace(second=0, microsecond=0)
    setup = now - timedelta(days=DAYS + 6)
    clock = _Clock()

    users = _users(setup)
    warehouses = _warehouses(setup)
    products = _products(setup)
    supplier = _supplier(products, setup)
    stock_left = _receive(rng, warehouses, products, orders, now, clock)
    # The built-in sandbox carrier, reached over HTTP like a real one; it signs its
    # webhooks with the account's API key.
    sandbox = Carrier(name="Sandbox Express", code="sandbox", kind="sandbox", created_at=setup,
                      base_url=f"{current_app.config['PUBLIC_URL']}/sandbox/carrier",
                      api_key="sandbox-demo-key", webhook_secret="sandbox-demo-key")
    local = Carrier(name="Livraison locale", code="local", kind="local", local_delivery=True,
                    created_at=setup)
    channels = [
        Channel(name="Boutique en ligne", code="boutique", kind="api", created_at=setup),
        Channel(name="Commandes téléphone", code="telephone", kind="manual", created_at=setup),
    ]
    db.session.add_all([sandbox, local, *channels])
    db.session.flush()
    for channel in channels:
        channel.default_carrier_id = sandbox.id
    # The built-in sandbox marketplace: it places new orders by itself in `make run`,
    # polled every minute, and hears back when they ship.
    marketplace = Channel(
        name="Sandbox Marketplace", code="marketplace", kind="sandbox", created_at=setup,
        base_url=f"{current_app.config['PUBLIC_URL']}/sandbox/marketplace",
        api_key="sandbox-demo-key", webhook_secret="sandbox-demo-key",
        default_carrier_id=sandbox.id, poll_interval_minutes=1, dropship_process="managed")
    db.session.add(marketplace)
    db.session.flush()
    # The sandbox carrier's numbers (the supplier ships with it too) are told by prefix.
    db.session.add(TrackingRule(carrier_id=sandbox.id, kind="prefix", pattern="SBX"))

    plans = _plan(rng, orders, stock_left)
    actors = {name: Actor.of(user) for name, user in users.items()}
    actors["carrier"] = Actor.carrier("sandbox")
    actors["system"] = Actor.system()
    numbers = [1001, 5001]
    for plan in plans:
        external_id = (f"#{numbers[0]}", f"W-{numbers[1]}")[plan.channel]
        numbers[plan.channel] += 1
        order = _order(plan, now, external_id, channels, products, warehouses, supplier,
                       local if plan.local else sandbox)
        _play(order, plan, now, users, actors, clock)

    db.session.flush()
    _parcels(sandbox)
    _supplier_history(actors)
    _date_board_facts(now)
    return {
        "users": len(users),
        "warehouses": len(warehouses),
        "products": len(products),
        "carriers": 2,
        "channels": len(channels) + 1,
        "orders": len(plans),
        "stock movements": db.session.scalar(select(func.count()).select_from(StockMovement)),
        "audit events": db.session.scalar(select(func.count()).select_from(AuditEvent)),
    }


# The sandbox carrier's raw code for each status its history moved a demo order to.
_RAW = {"shipped": ("IN_TRANSIT", "In transit"),
        "package_issue": ("DELIVERY_FAILED", "Delivery attempt failed"),
        "delivered": ("DELIVERED", "Delivered"),
        "in_return": ("RETURN_TO_SENDER", "Returning to sender")}


def _parcels(carrier: Carrier) -> None:
    """Parcels and timelines for the demo's history: each carrier order that got a tracking
    number, with the carrier's moves from its audit trail as applied events. Orders
    confirmed but not yet registered are left to the registration job."""
    orders = db.session.execute(
        select(Order).where(Order.carrier_id == carrier.id, Order.tracking_number.is_not(None))
    ).scalars().all()
    for order in orders:
        moves = db.session.execute(
            select(AuditEvent).where(AuditEvent.order_id == order.id,
                                     AuditEvent.kind == "shipping",
                                     AuditEvent.actor_name == "carrier:sandbox")
            .order_by(AuditEvent.created_at)).scalars().all()
        last = moves[-1] if moves else None
        parcel = Parcel(
            order_id=order.id, carrier_id=carrier.id, tracking_number=order.tracking_number,
            idempotency_key=f"demo-{order.id}", registered_at=order.confirmed_at,
            handed_over_at=moves[0].created_at if moves else None,
            carrier_status=_RAW[last.to_value][0] if last else None,
            carrier_status_text=_RAW[last.to_value][1] if last else None,
            last_event_at=last.created_at if last else None,
            final=order.shipping_status in ("in_return", "returned", "canceled"))
        db.session.add(parcel)
        db.session.flush()
        for move in moves:
            code, text = _RAW[move.to_value]
            db.session.add(ParcelEvent(
                parcel_id=parcel.id, carrier_id=carrier.id, occurred_at=move.created_at,
                received_at=move.created_at, source="api", raw_code=code, raw_text=text,
                location=order.city, maps_to=move.to_value, outcome="applied",
                dedupe_key=f"demo-{move.id}"))


def _supplier_history(actors: dict[str, Actor]) -> None:
    """Take the demo's past supplier orders as far as their orders went, through the door.

    An order that left the warehouse had its supplier order processed, accepted and
    shipped (its parcel is the order's, made above); a canceled one canceled; those
    confirmed lately still wait for Process, for the operator to try in `make run`.
    """
    supplier_actor = Actor.supplier("Atlas Dropship")
    refused = 0
    for so in db.session.scalars(select(SupplierOrder).order_by(SupplierOrder.id.desc())).all():
        if so.status != "pending":
            continue  # canceled with its order already
        order = so.order
        status = order.shipping_status
        start = so.created_at
        if status in (None, Shipping.CREATED):
            if refused < 1:
                # A refusal of the day, waiting for Resolve; the others wait for Process.
                refused += 1
                line = so.lines[0]
                move_supplier_order(so, "submitted", actors["operator"], note="submitted",
                                    now=start + timedelta(minutes=5),
                                    submitted_at=start + timedelta(minutes=5), attempts=1)
                reason = f"Out of stock: {line.supplier_sku} (0 available, {line.quantity} asked)"
                move_supplier_order(so, "error", supplier_actor, note=reason,
                                    now=start + timedelta(minutes=6), error=reason,
                                    error_source="supplier",
                                    answered_at=start + timedelta(minutes=6))
            continue
        if status == Shipping.CANCELED:
            move_supplier_order(so, "canceled", actors["operator"], note="order canceled",
                                now=start + timedelta(minutes=30), cancel_reason="order canceled")
            continue
        steps = [("submitted", actors["operator"], 20, "submitted to Atlas Dropship"),
                 ("accepted", supplier_actor, 35, "accepted by Atlas Dropship"),
                 ("shipped", supplier_actor, 600, f"shipped by Atlas Dropship, tracking "
                                                  f"{order.tracking_number or '—'}")]
        if status == Shipping.FULFILLED:
            steps = steps[:2]  # not yet collected from the supplier
        for to, actor, minutes, note in steps:
            when = start + timedelta(minutes=minutes)
            extra = {"submitted": {"submitted_at": when, "attempts": 1},
                     "accepted": {"answered_at": when, "supplier_ref": f"ATL-{so.id:06d}"},
                     "shipped": {"shipped_at": when, "tracking_number": order.tracking_number,
                                 "carrier_name": order.carrier.name if order.carrier else None},
                     }[to]
            move_supplier_order(so, to, actor, note=note, now=when, **extra)


def _date_board_facts(now: datetime) -> None:
    """The operations wrote the boards' columns and counters at seeding time: date them
    from the back-dated history, then fold the rollups and the agents' days again."""
    db.session.flush()
    connection = db.session.connection()
    date_from_history(connection)
    rebuild_rollups(connection)
    rebuild_agent_days(local_day(now) - timedelta(days=DAYS + 1))
    rebuild_call_times(None)
    db.session.expire_all()


def _refuse_if_filled() -> None:
    """Leave a database that already has shop data or the demo logins untouched."""
    taken = db.session.scalar(
        select(User.username).where(User.username.in_([u for u, _, _ in USERS])).limit(1)
    )
    filled = any(
        db.session.scalar(select(model.id).limit(1)) is not None
        for model in (Order, Product, Warehouse, Channel, Carrier, Supplier)
    )
    if taken or filled:
        raise click.ClickException(
            "the database already has users or shop data; demo data only goes into an empty one"
        )


def _users(setup: datetime) -> dict[str, User]:
    """The four role logins and three more agents, all with the demo password."""
    users = {}
    for username, name, role in USERS:
        user = User(username=username, name=name, role=role, created_at=setup)
        user.set_password(PASSWORD)
        users[username] = user
    db.session.add_all(users.values())
    db.session.flush()
    return users


def _warehouses(setup: datetime) -> dict[str, Warehouse]:
    """The two demo warehouses by code."""
    found = {
        code: Warehouse(code=code, name=name, city=city, created_at=setup)
        for code, name, city in WAREHOUSES
    }
    db.session.add_all(found.values())
    db.session.flush()
    return found


def _products(setup: datetime) -> list[Product]:
    """The catalog, in PRODUCTS order."""
    products = [
        Product(sku=sku, name=name, price_cents=price * 100, created_at=setup)
        for sku, name, price, _ in PRODUCTS
    ]
    db.session.add_all(products)
    db.session.flush()
    return products


def _supplier(products: list[Product], setup: datetime) -> Supplier:
    """The dropship supplier and its SKU mappings."""
    # The built-in sandbox supplier, reached over HTTP like a real one.
    supplier = Supplier(name="Atlas Dropship", kind="sandbox", created_at=setup,
                        base_url=f"{current_app.config['PUBLIC_URL']}/sandbox/supplier",
                        api_key="sandbox-demo-key", default_shipping_method="standard",
                        poll_interval_minutes=1)
    db.session.add(supplier)
    db.session.flush()
    for rate, method in (("Livraison gratuite", "standard"), ("Livraison express", "express")):
        db.session.add(ShippingMapping(supplier_id=supplier.id, rate_name=rate,
                                       rate_key=fold(rate), method=method))
    for product in products:
        if product.sku in DROPSHIP:
            their_sku, cost, method = DROPSHIP[product.sku]
            product.dropship_supplier_id = supplier.id
            db.session.add(SupplierSku(
                supplier_id=supplier.id, product_id=product.id, supplier_sku=their_sku,
                cost_cents=cost * 100, shipping_method=method,
            ))
    return supplier


def _receive(
    rng: random.Random, warehouses: dict[str, Warehouse], products: list[Product], orders: int,
    now: datetime, clock: _Clock,
) -> dict[tuple[str, int], int]:
    """Receive the opening stock; returns what each warehouse holds of each product."""
    # More orders need more stock, or later confirmations would find none.
    scale = max(1, -(-orders // 300))
    actor = Actor.system("seed")
    held: dict[tuple[str, int], int] = {}
    arrival = now - timedelta(days=DAYS + 1)
    for index, product in enumerate(products):
        if product.sku in DROPSHIP:
            continue
        codes = rng.choice([["CAS"], ["RAK"], ["CAS", "RAK"], ["CAS", "RAK"]])
        for code in codes:
            quantity = rng.randint(20, 200) * scale
            receive_stock(warehouses[code], product.id, quantity, actor, note="Stock d'ouverture")
            arrival += timedelta(minutes=rng.randint(2, 9))
            clock.stamp(arrival)
            held[code, index] = quantity
    return held


def _plan(rng: random.Random, count: int, stock_left: dict[tuple[str, int], int]) -> list[_Plan]:
    """Decide every order: age, outcome, customer, lines and history; oldest first."""
    # Recent days are busier: day 0 (the last 24 hours) gets 2.5 times day 13.
    per_day = _apportion(count, {day: 1 + 0.12 * (DAYS - 1 - day) for day in range(DAYS)})
    ages = sorted(
        max(3, day * 1440 + rng.randrange(1440))
        for day, n in per_day.items() for _ in range(n)
    )
    outcomes = sorted(
        _quotas(count), key=lambda outcome: rng.uniform(*MIX[outcome][1])
    )
    plans = [_Plan(age=age, outcome=outcome) for age, outcome in zip(ages, outcomes, strict=True)]
    plans.reverse()
    for plan in plans:
        plan.customer = _customer(rng)
        plan.note = rng.choice(ORDER_NOTES) if rng.random() < 0.08 else ""
    _share_phones(rng, plans)
    for plan in plans:
        plan.channel = 0 if rng.random() < 0.65 else 1
        plan.local = plan.customer.city in LOCAL_CITIES and rng.random() < LOCAL_SHARE
        plan.lines = _lines(rng, plan, stock_left)
    reopen = [p for p in plans if p.outcome == "new" and p.age > 240]
    for plan in rng.sample(reopen, min(2, len(reopen))):
        plan.reopened = True
    for plan in plans:
        plan.steps = _steps(rng, plan)
    return plans


def _apportion(count: int, weights: dict) -> dict:
    """Split count in proportion to the weights, largest remainders first."""
    total = sum(weights.values())
    exact = {key: count * weight / total for key, weight in weights.items()}
    counts = {key: int(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: exact[key] - counts[key], reverse=True)
    for key in by_remainder[: count - sum(counts.values())]:
        counts[key] += 1
    return counts


def _quotas(count: int) -> list[str]:
    """Outcomes in the MIX shares, each present once there are enough orders."""
    counts = _apportion(count, {outcome: share for outcome, (share, _) in MIX.items()})
    if count >= len(MIX):
        for outcome in MIX:
            if counts[outcome] == 0:
                counts[max(counts, key=counts.get)] -= 1
                counts[outcome] = 1
    return [outcome for outcome, n in counts.items() for _ in range(n)]


def _customer(rng: random.Random) -> _Customer:
    """A customer with a Moroccan, French or Arabic-script name and a Moroccan address."""
    city, region, _, areas = rng.choices(CITIES, weights=[c[2] for c in CITIES])[0]
    area = rng.choice(areas)
    kind = rng.choices(["ma", "ar", "fr"], weights=[55, 25, 20])[0]
    if kind == "ar":
        name = f"{rng.choice(AR_FIRST)} {rng.choice(AR_LAST)}"
    elif kind == "fr":
        name = f"{rng.choice(FR_FIRST)} {rng.choice(FR_LAST)}"
    else:
        name = f"{rng.choice(MA_FIRST)} {rng.choice(MA_LAST)}"
        # Shop forms get names typed in any case.
        if rng.random() < 0.06:
            name = name.lower()
    if kind == "ar" and rng.random() < 0.5:
        address = f"حي {rng.choice(AR_HAY)}، زنقة {rng.randint(1, 40)}، رقم {rng.randint(1, 120)}"
    else:
        address = rng.choice([
            lambda: f"{rng.randint(1, 180)}, {rng.choice(STREETS)}, {area}",
            lambda: f"Résidence {rng.choice(RESIDENCES)}, Imm. {rng.randint(1, 24)}, "
                    f"Apt {rng.randint(1, 40)}, {area}",
            lambda: f"Lot. {rng.choice(RESIDENCES)} N° {rng.randint(1, 300)}, {area}",
            lambda: f"{area}, Rue {rng.randint(1, 60)}, N° {rng.randint(1, 90)}",
        ])()
    number = rng.choice("67") + "".join(str(rng.randint(0, 9)) for _ in range(8))
    return _Customer(name, number, rng.randrange(7), address, city, region)


def _share_phones(rng: random.Random, plans: list[_Plan]) -> None:
    """Make some new leads repeat a recent order's phone, and two reuse a fake order's."""
    fresh = [p for p in plans if p.outcome == "new"]
    repeats = rng.sample(fresh, len(fresh) // 8)
    taken = {id(plan) for plan in repeats}
    for plan in repeats:
        earlier = [p for p in plans if 0 < p.age - plan.age <= 2 * 1440]
        if earlier:
            first = rng.choice(earlier)
            taken.add(id(first))
            # Same person, phone typed differently the second time.
            plan.customer = replace(
                first.customer, style=(first.customer.style + rng.randint(1, 6)) % 7
            )
    fakes = [p for p in plans if p.outcome == "fake"]
    others = [p for p in fresh if id(p) not in taken]
    reused = 0
    for plan in rng.sample(others, len(others)):
        earlier = [p for p in fakes if p.age > plan.age]
        if reused == 2:
            break
        if earlier:
            fake = rng.choice(earlier)
            fakes.remove(fake)
            plan.customer = replace(plan.customer, number=fake.customer.number)
            reused += 1


def _lines(
    rng: random.Random, plan: _Plan, stock_left: dict[tuple[str, int], int]
) -> list[tuple[int, int, str | None]]:
    """Pick 1–4 products; confirmed orders only take stock that is still there."""
    confirmed = plan.outcome in SHIPPED_OUTCOMES
    home = LOCAL_CITIES.get(plan.customer.city) if plan.local else None
    near = home or ("RAK" if plan.customer.city in SOUTH else "CAS")
    codes = [near, "RAK" if near == "CAS" else "CAS"]
    want = rng.choices([1, 2, 3, 4], weights=[55, 28, 12, 5])[0]
    candidates = list(range(len(PRODUCTS)))
    lines = []
    while len(lines) < want and candidates:
        index = rng.choices(candidates, weights=[PRODUCTS[i][3] for i in candidates])[0]
        candidates.remove(index)
        quantity = rng.choices([1, 2, 3], weights=[70, 22, 8])[0]
        if PRODUCTS[index][0] in DROPSHIP:
            # The supplier ships dropship lines, which the own drivers never carry.
            if not plan.local:
                lines.append((index, quantity, None))
            continue
        usable = [
            code for code in codes
            if (code, index) in stock_left
            and (not confirmed or stock_left[code, index] >= quantity)
        ]
        if usable:
            if confirmed:
                stock_left[usable[0], index] -= quantity
            lines.append((index, quantity, usable[0]))
    if not lines:
        index = next(i for i, p in enumerate(PRODUCTS) if p[0] in DROPSHIP)
        lines.append((index, 1, None))
    return lines


def _steps(rng: random.Random, plan: _Plan) -> list[_Step]:
    """The operations that bring an order to its outcome, with minutes between them."""
    steps: list[_Step] = []
    outcome = plan.outcome

    def agent() -> str:
        return rng.choices(AGENTS, weights=AGENT_WEIGHTS)[0]

    def call(to: str, note: str = "", **extra) -> None:
        delay = rng.uniform(30, 360) if steps else rng.uniform(5, 120)
        steps.append(_Step(agent(), "confirmation", to, delay, note, **extra))

    def no_answers(n: int) -> None:
        for _ in range(n):
            call(Confirmation.NO_ANSWER)

    def move(who: str, to: str, low: float, high: float, note: str = "", **extra) -> None:
        steps.append(_Step(who, "shipping", to, rng.uniform(low, high), note, **extra))

    if outcome == "new":
        if plan.reopened:
            call(Confirmation.FAKE, rng.choice(FAKE_REASONS))
            steps.append(_Step(
                "manager", "reopen", Confirmation.NEW, rng.uniform(30, 180),
                "Le client a rappelé : la commande est bien réelle",
            ))
        return steps
    if outcome == "no_answer":
        no_answers(rng.randint(1, 4))
    elif outcome == "call_later":
        no_answers(rng.choice([0, 0, 1, 2]))
        kind = rng.choice(["due", "due", "soon", "tomorrow"])
        minutes = {
            "due": rng.uniform(5, 180), "soon": rng.uniform(15, 240),
            "tomorrow": rng.uniform(18 * 60, 30 * 60),
        }[kind]
        call(Confirmation.CALL_LATER, "Rappeler plus tard", callback=(kind, minutes))
    elif outcome == "canceled":
        if rng.random() < 0.35:
            attempts = rng.randint(3, 4)
            no_answers(attempts)
            steps.append(_Step(
                "system", "confirmation", Confirmation.CANCELED, rng.uniform(720, 2880),
                f"Injoignable après {attempts} appels",
            ))
        else:
            no_answers(rng.choice([0, 0, 1]))
            call(Confirmation.CANCELED, rng.choice(CANCEL_REASONS))
    elif outcome == "fake":
        no_answers(rng.choice([0, 0, 1]))
        call(Confirmation.FAKE, rng.choice(FAKE_REASONS))
    else:
        no_answers(rng.choices([0, 1, 2], weights=[65, 25, 10])[0])
        if rng.random() < 0.1:
            call(Confirmation.CALL_LATER, "Le client rappelle ce soir",
                 callback=("soon", rng.uniform(60, 240)))
        call(Confirmation.CONFIRMED, rng.choice(["", "", "Confirmé, livraison souhaitée demain"]))
        _shipping_steps(rng, outcome, move)
    return steps


def _shipping_steps(rng: random.Random, outcome: str, move) -> None:
    """Append the parcel's moves after confirmation for one shipping outcome."""
    tracking = f"SBX{rng.randrange(10**10):010d}"
    if outcome == "created":
        return
    if outcome == "ship_canceled":
        if rng.random() < 0.4:
            move("operator", Shipping.FULFILLED, 120, 1200)
        move("operator", Shipping.CANCELED, 60, 600, "Le client a annulé avant l'expédition")
        return
    move("operator", Shipping.FULFILLED, 120, 1200)
    if outcome == "fulfilled":
        return
    if outcome == "returned" and rng.random() < 0.2:
        move("operator", Shipping.RETURNED, 60, 600, "Colis défait avant l'enlèvement")
        return
    move("carrier", Shipping.SHIPPED, 120, 720, tracking=tracking)
    if outcome == "shipped":
        return
    if outcome == "package_issue" or rng.random() < 0.2:
        move("carrier", Shipping.PACKAGE_ISSUE, 720, 2880, rng.choice(ISSUE_NOTES))
    if outcome == "package_issue":
        return
    if outcome == "delivered" or (outcome in ("in_return", "returned") and rng.random() < 0.15):
        move("carrier", Shipping.DELIVERED, 720, 2880)
        if outcome == "delivered":
            return
        move("operator", Shipping.IN_RETURN, 720, 2880, "Retour client : article non conforme")
    else:
        move("carrier", Shipping.IN_RETURN, 720, 2880, rng.choice(RETURN_NOTES))
    if outcome == "returned":
        move("operator", Shipping.RETURNED, 1440, 4320, "Colis retourné reçu à l'entrepôt")


def _order(
    plan: _Plan, now: datetime, external_id: str, channels: list[Channel],
    products: list[Product], warehouses: dict[str, Warehouse], supplier: Supplier,
    carrier: Carrier,
) -> Order:
    """Write one order and its lines as they arrived from the shop."""
    customer = plan.customer
    phone = format_phone(customer.number, customer.style)
    created = now - timedelta(minutes=plan.age)
    lines = [
        OrderLine(
            product_id=products[index].id, sku=products[index].sku, name=products[index].name,
            quantity=quantity, unit_price_cents=products[index].price_cents,
            warehouse_id=warehouses[code].id if code else None,
            supplier_id=None if code else supplier.id,
        )
        for index, quantity, code in plan.lines
    ]
    order = Order(
        channel_id=channels[plan.channel].id, external_id=external_id,
        customer_name=customer.name, phone=phone, phone_normalized=normalize_phone(phone),
        address=customer.address, city=customer.city, region=customer.region,
        cod_amount_cents=sum(line.quantity * line.unit_price_cents for line in lines)
        + SHIPPING_FEE_CENTS,
        currency="MAD", note=plan.note,
        delivery_mode=DeliveryMode.LOCAL.value if plan.local else DeliveryMode.CARRIER.value,
        carrier_id=carrier.id, created_at=created, updated_at=created, lines=lines,
    )
    db.session.add(order)
    db.session.flush()
    return order


def _play(
    order: Order, plan: _Plan, now: datetime, users: dict[str, User],
    actors: dict[str, Actor], clock: _Clock,
) -> None:
    """Run an order's steps through the operations and date what they wrote."""
    total = sum(step.delay for step in plan.steps)
    # Squeeze a history that would run past now into the order's lifetime so far.
    room = (plan.age - 1) * 0.95
    scale = min(1.0, room / total) if total else 1.0
    when = order.created_at
    for step in plan.steps:
        when += timedelta(seconds=int(step.delay * scale * 60))
        if step.op == "reopen":
            reopen_order(order, actors[step.who], reason=step.note)
        elif step.op == "confirmation":
            if step.who in users:
                order.claimed_by_id = users[step.who].id
                # The agent held the card for a while: the boards' time per call.
                order.claimed_at = utcnow() - timedelta(seconds=40 + (order.id * 37) % 260)
            callback_at = None
            if step.callback:
                kind, minutes = step.callback
                callback_at = now + timedelta(minutes=60 if kind == "due" else minutes)
            change_confirmation(
                order, step.to, actors[step.who], note=step.note, callback_at=callback_at
            )
            if step.callback and step.callback[0] == "due":
                # The operation only takes future times; a due callback was set earlier.
                due = now - timedelta(minutes=step.callback[1])
                if due <= when:
                    due = (when + (now - when) / 2).replace(microsecond=0)
                order.callback_at = due
        else:
            local = order.delivery_mode == DeliveryMode.LOCAL
            who = "operator" if step.who == "carrier" and local else step.who
            change_shipping(
                order, step.to, actors[who], note=step.note,
                tracking_number=None if local else step.tracking,
            )
        if step.to == Confirmation.CONFIRMED and step.op == "confirmation":
            order.confirmed_at = when
        clock.stamp(when)
    order.updated_at = when
