"""Warehouse routing per line: each rule in its turn, stock, exclusions, the catch-all."""

import pytest

from extensions import db
from models import Actor, AuditEvent, OrderLine, RoutingRule
from models.intake.routing import NOWHERE, UNKNOWN_PRODUCT, Route, Router, reroute_order
from models.stock.ledger import receive_stock


@pytest.fixture
def stock(app):
    """stock(product, warehouse, n): n more of the product on hand in that warehouse."""

    def put(product, warehouse, n: int) -> None:
        receive_stock(warehouse, product.id, n, Actor.system("test"), "opening stock")
        db.session.commit()

    return put


@pytest.fixture
def rule(app):
    """rule(kind, warehouse, channel=None, product=None, place=""): a stored routing rule."""

    def add(kind: str, warehouse, channel=None, product=None, place: str = "") -> None:
        db.session.add(RoutingRule(kind=kind, warehouse_id=warehouse.id, place=place,
                                   channel_id=channel.id if channel else None,
                                   product_id=product.id if product else None))
        db.session.commit()

    return add


def route(channel, *lines, city: str = "Rabat", region: str = "") -> list[Route]:
    """Route one order of (product or None, quantity) lines with freshly loaded data."""
    router = Router.load(p.id for p, _ in lines if p is not None)
    return router.route(channel_id=channel.id, city=city, region=region,
                        lines=[(p.id if p is not None else None, q) for p, q in lines])


def one(channel, product, quantity: int = 1, **place) -> Route:
    """The route of a one-line order."""
    return route(channel, (product, quantity), **place)[0]


@pytest.fixture
def world(make_channel, make_warehouse, make_product, stock):
    """Four warehouses by priority (first..fourth), a product with 10 in each, two channels."""
    warehouses = [make_warehouse(name=name, priority=p)
                  for name, p in (("First", 10), ("Second", 20), ("Third", 30), ("Fourth", 40))]
    product = make_product(stock=0)
    for warehouse in warehouses:
        stock(product, warehouse, 10)
    return warehouses, product, make_channel(), make_channel()


# --- each rule wins over the later ones ----------------------------------------------


def test_route_dropship_product_goes_to_its_supplier(world, make_supplier, rule):
    """A dropship product never goes to a warehouse, whatever the rules say."""
    (first, second, *_), product, shop, _ = world
    supplier = make_supplier(name="Atlas Dropship")
    product.dropship_supplier_id = supplier.id
    db.session.commit()
    rule("channel", second, channel=shop)
    assert one(shop, product) == Route(None, supplier.id, "dropship: Atlas Dropship")


def test_route_channel_override_wins_over_pin_geo_and_priority(world, rule):
    """The channel's own warehouse comes first."""
    (first, second, third, fourth), product, shop, _ = world
    rule("geo", second, place="Rabat")
    rule("product", third, product=product)
    rule("channel", fourth, channel=shop)
    assert one(shop, product) == Route(fourth.id, None, "channel override")


def test_route_channel_override_only_for_its_channel(world, rule):
    """Another channel's override does nothing to this order."""
    (first, *_, fourth), product, shop, other = world
    rule("channel", fourth, channel=other)
    assert one(shop, product) == Route(first.id, None, "priority")


def test_route_pinned_product_wins_over_geo_and_priority(world, rule):
    """A pinned product goes to its warehouse before geography is looked at."""
    (first, second, third, _), product, shop, _ = world
    rule("geo", second, place="Rabat")
    rule("product", third, product=product)
    assert one(shop, product) == Route(third.id, None, "pinned product")


def test_route_geography_wins_over_priority(world, rule):
    """An order to a place with a geography rule goes to that place's warehouse."""
    (first, _, third, _), product, shop, _ = world
    rule("geo", third, place="Rabat")
    assert one(shop, product, city="Rabat") == Route(third.id, None, "geography: Rabat")
    assert one(shop, product, city="Fès") == Route(first.id, None, "priority")


def test_route_priority_lowest_first_then_oldest(make_channel, make_warehouse, make_product,
                                                 stock):
    """Without rules the lowest priority number serves; a tie goes to the older warehouse."""
    late = make_warehouse(priority=50)
    early = make_warehouse(priority=5)
    tie_old, tie_new = make_warehouse(priority=1), make_warehouse(priority=1)
    product = make_product(stock=0)
    for warehouse in (late, tie_new, early, tie_old):
        stock(product, warehouse, 4)
    assert one(make_channel(), product) == Route(tie_old.id, None, "priority")


# --- not enough stock: fall through ----------------------------------------------------


@pytest.mark.parametrize("kind", ["channel", "product", "geo"])
def test_route_rule_without_stock_falls_through(world, make_warehouse, make_product, stock,
                                                rule, kind):
    """A rule whose warehouse holds too few is skipped; priority serves the line."""
    (first, *_), _, shop, _ = world
    short = make_warehouse(name="Short", priority=1)
    product = make_product(stock=2, warehouse=short)
    stock(product, first, 5)
    rule(kind, short, channel=shop if kind == "channel" else None,
         product=product if kind == "product" else None, place="Rabat" if kind == "geo" else "")
    assert one(shop, product, 3, city="Rabat") == Route(first.id, None, "priority")
    expected = {"channel": "channel override", "product": "pinned product",
                "geo": "geography: Rabat"}[kind]
    assert one(shop, product, 2, city="Rabat") == Route(short.id, None, expected)


def test_route_each_rule_short_falls_to_the_next(world, stock, make_product, rule):
    """Channel short → pinned; pinned short too → geography; geography short → priority."""
    (first, second, third, fourth), _, shop, _ = world
    product = make_product(stock=0)
    for warehouse, n in ((fourth, 1), (third, 2), (second, 3), (first, 4)):
        stock(product, warehouse, n)
    rule("channel", fourth, channel=shop)
    rule("product", third, product=product)
    rule("geo", second, place="Rabat")
    assert [one(shop, product, q).rule for q in (1, 2, 3, 4)] == [
        "channel override", "pinned product", "geography: Rabat", "priority"]


def test_route_priority_skips_warehouses_without_stock(make_channel, make_warehouse,
                                                       make_product, stock):
    """The first warehouse by priority with enough stock serves, not merely the first."""
    empty, some = make_warehouse(priority=1), make_warehouse(priority=2)
    product = make_product(stock=1, warehouse=empty)
    stock(product, some, 6)
    assert one(make_channel(), product, 6) == Route(some.id, None, "priority")


def test_route_inactive_warehouse_never_serves(world, rule):
    """A warehouse switched off is skipped by every rule, even with stock."""
    (first, second, *_), product, shop, _ = world
    first.active = False
    db.session.commit()
    rule("channel", first, channel=shop)
    assert one(shop, product) == Route(second.id, None, "priority")


# --- exclusions ------------------------------------------------------------------------


def test_route_exclusion_by_product(world, make_product, stock, rule):
    """A warehouse excluded for a product never serves it; other products still go there."""
    (first, second, *_), product, shop, _ = world
    other = make_product(stock=5, warehouse=first)
    rule("exclude", first, product=product)
    rule("channel", first, channel=shop)
    assert one(shop, product) == Route(second.id, None, "priority")
    assert one(shop, other) == Route(first.id, None, "channel override")


def test_route_exclusion_by_channel(world, rule):
    """A warehouse excluded for a channel serves the other channels."""
    (first, second, *_), product, shop, other = world
    rule("exclude", first, channel=shop)
    assert one(shop, product) == Route(second.id, None, "priority")
    assert one(other, product) == Route(first.id, None, "priority")


def test_route_exclusion_for_product_and_channel_together(world, rule):
    """An exclusion naming both applies only to that product on that channel."""
    (first, second, *_), product, shop, other = world
    rule("exclude", first, product=product, channel=shop)
    assert one(shop, product).warehouse_id == second.id
    assert one(other, product).warehouse_id == first.id


# --- geography without case or accents --------------------------------------------------


@pytest.mark.parametrize(("place", "city", "region"), [
    ("Fès", "fes", ""),
    ("Casablanca", "  CASABLANCA ", ""),
    ("fes", "FÈS", ""),
    ("Tanger-Tétouan-Al Hoceïma", "Tetouan", "tanger-tetouan-al  hoceima"),
    ("Souss-Massa", "Agadir", "SOUSS-MASSA"),
])
def test_route_geography_ignores_case_and_accents(world, rule, place, city, region):
    """The place matches the order's city or its region however either is written."""
    (*_, fourth), product, shop, _ = world
    rule("geo", fourth, place=place)
    assert one(shop, product, city=city, region=region) == Route(
        fourth.id, None, f"geography: {place}")


def test_route_geography_city_before_region(world, rule):
    """When the city and the region both have a rule, the city's comes first."""
    (_, _, third, fourth), product, shop, _ = world
    rule("geo", third, place="Casablanca-Settat")
    rule("geo", fourth, place="Casablanca")
    chosen = one(shop, product, city="Casablanca", region="Casablanca-Settat")
    assert chosen == Route(fourth.id, None, "geography: Casablanca")


# --- catch-all --------------------------------------------------------------------------


def test_route_catch_all_takes_what_no_warehouse_has(make_channel, make_warehouse,
                                                     make_product):
    """Nobody has 3: the catch-all takes the line anyway and says why."""
    shelf = make_warehouse(priority=1)
    spare = make_warehouse(priority=90, catch_all=True)
    product = make_product(stock=2, warehouse=shelf)
    assert one(make_channel(), product, 3) == Route(
        spare.id, None, "catch-all (no warehouse had 3 in stock)")


def test_route_catch_all_with_stock_waits_its_turn(make_channel, make_warehouse, make_product,
                                                   stock):
    """A catch-all holding stock serves by priority like any warehouse."""
    spare = make_warehouse(priority=1, catch_all=True)
    shelf = make_warehouse(priority=2)
    product = make_product(stock=5, warehouse=spare)
    stock(product, shelf, 5)
    assert one(make_channel(), product, 4) == Route(spare.id, None, "priority")
    assert one(make_channel(), product, 6) == Route(
        spare.id, None, "catch-all (no warehouse had 6 in stock)")


def test_route_excluded_catch_all_takes_nothing(make_channel, make_warehouse, make_product,
                                                rule):
    """The catch-all ignores stock but not exclusions."""
    spare = make_warehouse(catch_all=True)
    product = make_product(stock=0)
    rule("exclude", spare, product=product)
    assert one(make_channel(), product) == Route(None, None, NOWHERE)


def test_route_no_stock_and_no_catch_all(make_channel, make_warehouse, make_product):
    """Nowhere to send it: no warehouse, and the line says so."""
    make_warehouse()
    product = make_product(stock=0)
    assert one(make_channel(), product) == Route(None, None,
                                                 "no warehouse (no stock, no catch-all)")


# --- lines -------------------------------------------------------------------------------


def test_route_unknown_product(make_channel, make_warehouse):
    """A line whose SKU matched no product goes nowhere."""
    make_warehouse(catch_all=True)
    assert route(make_channel(), (None, 1)) == [Route(None, None, UNKNOWN_PRODUCT)]


def test_route_two_lines_to_different_warehouses(make_channel, make_warehouse, make_product):
    """Each line goes where its own product is."""
    north, south = make_warehouse(priority=1), make_warehouse(priority=2)
    scarf, lamp = make_product(stock=3, warehouse=north), make_product(stock=3, warehouse=south)
    assert [r.warehouse_id for r in route(make_channel(), (scarf, 1), (lamp, 2))] == [
        north.id, south.id]


def test_route_two_lines_of_one_product_share_the_stock(make_channel, make_warehouse,
                                                        make_product, stock):
    """A warehouse holding 3 serves one line of 2, not two: the second goes elsewhere."""
    near, far = make_warehouse(priority=1), make_warehouse(priority=2)
    product = make_product(stock=3, warehouse=near)
    stock(product, far, 3)
    assert [r.warehouse_id for r in route(make_channel(), (product, 2), (product, 2))] == [
        near.id, far.id]


def test_route_issues_no_queries(world, rule, make_product, count_queries):
    """Once loaded, routing a batch reads nothing more from the database."""
    (first, second, third, _), product, shop, other = world
    rule("channel", second, channel=other)
    rule("geo", third, place="Fès")
    rule("exclude", first, product=product, channel=shop)
    unknown = make_product(stock=0)
    channels, lines = (shop.id, other.id), [(product.id, 1), (unknown.id, 1), (None, 1)]
    router = Router.load([product.id, unknown.id, None])
    with count_queries() as counted:
        for n in range(200):
            router.route(channel_id=channels[n % 2], city=("Fès", "Rabat")[n % 2], region="",
                         lines=lines)
    assert counted.n == 0


def test_router_load_reads_a_handful_of_queries(world, count_queries):
    """Loading for a few products costs four statements, whatever the rules."""
    product_id = world[1].id
    with count_queries() as counted:
        Router.load([product_id])
    assert counted.n == 4


# --- rerouting after an edit ---------------------------------------------------------


def test_reroute_order_moves_a_line_the_first_warehouse_cannot_fill(
        make_order, make_warehouse, make_product, stock):
    """Raising a quantity past the first warehouse's stock sends the line to the next one."""
    near = make_warehouse(name="Casa Nord", priority=1)
    far = make_warehouse(name="Rabat Sud", priority=2)
    product = make_product(stock=3, warehouse=near)
    stock(product, far, 20)
    order = make_order(lines=[(product, 2)])
    line = order.lines[0]
    assert reroute_order(order, Actor.system()) == []  # already where routing sends it
    assert line.routed_by == "priority"

    line.quantity = 5
    rows = reroute_order(order, Actor.system("manager1"))
    assert [(r["kind"], r["from_value"], r["to_value"], r["note"], r["sku"]) for r in rows] == [
        ("routing", "Casa Nord", "Rabat Sud", "priority", product.sku)]
    db.session.add_all(AuditEvent(**r) for r in rows)
    db.session.commit()
    stored = db.session.get(OrderLine, line.id)
    assert (stored.warehouse_id, stored.routed_by) == (far.id, "priority")


def test_reroute_order_leaves_a_confirmed_order_alone(make_order, make_warehouse,
                                                      make_product, stock):
    """Stock was taken from the line's warehouse at confirmation: it stays there."""
    near, far = make_warehouse(priority=1), make_warehouse(priority=2)
    product = make_product(stock=3, warehouse=near)
    stock(product, far, 20)
    order = make_order(lines=[(product, 2)], confirmation_status="confirmed",
                       shipping_status="created")
    order.lines[0].quantity = 5
    assert reroute_order(order, Actor.system()) == []
    assert order.lines[0].warehouse_id == near.id


def test_reroute_order_follows_a_corrected_city(make_order, make_warehouse, make_product,
                                                stock, rule):
    """A city corrected on the phone can bring a geography rule into play."""
    main, fes = make_warehouse(priority=1), make_warehouse(name="Fès Médina", priority=2)
    product = make_product(stock=5, warehouse=main)
    stock(product, fes, 5)
    rule("geo", fes, place="Fes")
    order = make_order(lines=[(product, 1)], city="Casablanca")
    order.city = "Fès"
    rows = reroute_order(order, Actor.system())
    assert [(r["to_value"], r["note"]) for r in rows] == [("Fès Médina", "geography: Fes")]
    assert order.lines[0].warehouse_id == fes.id
