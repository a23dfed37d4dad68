"""Factory fixtures: each returns a callable that builds a committed row with overrides."""

from itertools import count

import pytest

from extensions import db
from models import (
    Actor,
    Carrier,
    Channel,
    Order,
    OrderLine,
    Product,
    Supplier,
    User,
    Warehouse,
)
from models.stock.ledger import receive_stock

_seq = count(1)


@pytest.fixture
def make_user(app):
    """make_user(role="agent", username=None, password="secret-pw", **overrides)."""

    def make(role: str = "agent", username: str | None = None, password: str = "secret-pw",
             **overrides) -> User:
        user = User(username=username or f"{role}{next(_seq)}", role=role,
                    name=overrides.pop("name", ""), **overrides)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_channel(app):
    """make_channel(**overrides)."""

    def make(**overrides) -> Channel:
        n = next(_seq)
        channel = Channel(**{"name": f"Shop {n}", "code": f"shop-{n}", "kind": "manual",
                             **overrides})
        db.session.add(channel)
        db.session.commit()
        return channel

    return make


@pytest.fixture
def make_carrier(app):
    """make_carrier(**overrides)."""

    def make(**overrides) -> Carrier:
        n = next(_seq)
        carrier = Carrier(**{"name": f"Carrier {n}", "code": f"carrier-{n}", "kind": "sandbox",
                             **overrides})
        db.session.add(carrier)
        db.session.commit()
        return carrier

    return make


@pytest.fixture
def make_warehouse(app):
    """make_warehouse(**overrides)."""

    def make(**overrides) -> Warehouse:
        n = next(_seq)
        warehouse = Warehouse(**{"code": f"WH{n}", "name": f"Warehouse {n}", **overrides})
        db.session.add(warehouse)
        db.session.commit()
        return warehouse

    return make


@pytest.fixture
def make_product(app, make_warehouse):
    """make_product(stock=50, warehouse=None, **overrides): a product with stock received."""

    def make(stock: int = 50, warehouse: Warehouse | None = None, **overrides) -> Product:
        n = next(_seq)
        product = Product(**{"sku": f"SKU-{n}", "name": f"Product {n}", "price_cents": 9900,
                             **overrides})
        db.session.add(product)
        db.session.flush()
        if stock:
            receive_stock(warehouse or make_warehouse(), product.id, stock,
                          Actor.system("test"), "opening stock")
        db.session.commit()
        return product

    return make


@pytest.fixture
def make_order(app, make_channel, make_product, make_carrier):
    """make_order(lines=[(product, qty), ...] or quantity=1, **overrides): a committed order.

    Status columns may be overridden to set up a starting point; changing them
    afterwards is what the operations are for.
    """
    from models.stock import StockLevel

    def make(lines=None, quantity: int = 1, **overrides) -> Order:
        n = next(_seq)
        channel = overrides.pop("channel", None) or make_channel()
        if "carrier" not in overrides and "carrier_id" not in overrides:
            overrides["carrier"] = make_carrier()
        order = Order(**{
            "channel": channel, "external_id": f"EXT-{n}", "customer_name": f"Customer {n}",
            "phone": "0612345678", "phone_normalized": "+212612345678",
            "address": "12 Rue Ibn Battouta", "city": "Casablanca",
            "cod_amount_cents": 12900, "currency": "MAD", **overrides,
        })
        for product, qty in lines or [(make_product(), quantity)]:
            level = db.session.query(StockLevel).filter_by(product_id=product.id).first()
            order.lines.append(OrderLine(
                product=product, sku=product.sku, name=product.name, quantity=qty,
                unit_price_cents=product.price_cents,
                warehouse_id=level.warehouse_id if level else None,
            ))
        db.session.add(order)
        db.session.commit()
        return order

    return make


@pytest.fixture
def make_supplier(app):
    """make_supplier(**overrides)."""

    def make(**overrides) -> Supplier:
        supplier = Supplier(**{"name": f"Supplier {next(_seq)}", **overrides})
        db.session.add(supplier)
        db.session.commit()
        return supplier

    return make
