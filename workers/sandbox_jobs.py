"""Jobs of the built-in sandbox carrier: it pushes its webhooks like a real courier."""

from flask import current_app

from blueprints.sandbox.journeys import push_due_webhooks

from . import job


@job("default")
def push_sandbox_webhooks() -> int:
    """POST the sandbox parcels' newly visible events to their callback URLs; returns POSTs."""
    if not current_app.config["SANDBOX_ENABLED"]:
        return 0  # no sandbox carrier in this instance: nothing of its own to push
    return push_due_webhooks()


# -- the sandbox marketplace's customers -------------------------------------------------
FIRST_NAMES = ("Youssef", "Salma", "Mehdi", "Khadija", "Amine", "Fatima Zahra", "Omar",
               "Imane", "Hamza", "Nadia", "Ayoub", "Hajar", "Zakaria", "Meryem", "Rachid")
LAST_NAMES = ("El Amrani", "Benjelloun", "Alaoui", "Bennani", "Tazi", "Chraibi", "El Idrissi",
              "Berrada", "Ouazzani", "Lahlou", "Fassi Fihri", "Ait Benhaddou", "Zniber")
ARABIC_NAMES = ("يوسف العمراني", "خديجة بناني", "محمد التازي", "سلمى الإدريسي")
# (city, region, streets): addresses as customers type them, accents and all.
PLACES = (
    ("Casablanca", "Casablanca-Settat",
     ("Bd Zerktouni, Maârif", "Rue Ibnou Mounir, Racine", "Hay Hassani, Rue 12",
      "Bd d'Anfa, Résidence Les Palmiers")),
    ("Rabat", "Rabat-Salé-Kénitra",
     ("Avenue Fal Ould Oumeir, Agdal", "Rue Oued Ziz, Hay Riad", "Avenue Mohammed V")),
    ("Marrakech", "Marrakech-Safi",
     ("Rue de la Liberté, Guéliz", "Derb Sidi Bouloukat, Médina", "Avenue Allal El Fassi")),
    ("Fès", "Fès-Meknès", ("Route d'Imouzzer, Narjiss", "Avenue Hassan II, Ville Nouvelle")),
    ("Tanger", "Tanger-Tétouan-Al Hoceïma", ("Rue de Fès, Iberia", "Bd Mohammed VI, Malabata")),
    ("Agadir", "Souss-Massa", ("Avenue Hassan Ier, Talborjt", "Hay Dakhla, Rue 7")),
    ("Oujda", "Oriental", ("Bd Mohammed Derfoufi", "Hay Al Qods, Rue 3")),
)
NOTES = ("", "", "", "Appeler avant la livraison SVP", "Livraison après 18h",
         "الرجاء الاتصال قبل التوصيل", "Sonner deux fois")
METHODS = ("Livraison standard (2-4 jours)", "Livraison express 24h")


def _demo_order(rng, products: list) -> dict:
    """One plausible order of a Moroccan customer for 1 to 3 of our products."""
    city, region, streets = rng.choice(PLACES)
    name = (rng.choice(ARABIC_NAMES) if rng.random() < 0.15
            else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
    phone = f"0{rng.choice('67')}{rng.randrange(10**8):08d}"
    chosen = rng.sample(products, k=min(len(products), rng.randint(1, 3)))
    return {
        "customer": {"name": name, "phone": phone},
        "shipping": {"address": f"{rng.randint(1, 180)} {rng.choice(streets)}", "city": city,
                     "region": region, "method": rng.choice(METHODS)},
        "items": [{"sku": sku, "name": label, "quantity": rng.choice((1, 1, 1, 2, 3)),
                   "unit_price_cents": price} for sku, label, price in chosen],
        "currency": "MAD",
        "payment": "cod",
        "note": rng.choice(NOTES),
    }


@job("default")
def produce_sandbox_orders(api_key: str = "sandbox-demo-key", count: int | None = None) -> int:
    """Place 1 to 3 demo orders in the sandbox marketplace (count None: a random few)."""
    import random

    from sqlalchemy import select

    from blueprints.sandbox.marketplace import create_shop_order
    from models.base import db
    from models.catalog.products import Product

    if not current_app.config["SANDBOX_ENABLED"]:
        return 0  # no marketplace in this instance
    products = db.session.execute(
        select(Product.sku, Product.name, Product.price_cents)
        .where(Product.active.is_(True)).order_by(Product.id).limit(500)).all()
    if not products:
        return 0  # nothing to sell yet
    rng = random.Random()
    count = rng.randint(1, 3) if count is None else max(1, min(count, 3))
    for _ in range(count):
        create_shop_order(api_key, _demo_order(rng, [tuple(p) for p in products]))
    return count
