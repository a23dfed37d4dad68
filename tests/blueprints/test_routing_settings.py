"""Routing settings over HTTP: roles, warehouse priority and catch-all, rules, bad input;
and the order page saying which rule routed each line."""

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, AuditEvent, RoutingRule, Warehouse
from models.intake.routing import reroute_order
from models.stock.ledger import receive_stock

from .pages import heading, location, squash, text

PAGE = "/settings/routing"
RULES = "/settings/routing/rules"


def rules() -> list[tuple]:
    """The stored rules as (kind, warehouse, channel, product, place), oldest first."""
    db.session.rollback()
    return [tuple(row) for row in db.session.execute(
        select(RoutingRule.kind, RoutingRule.warehouse_id, RoutingRule.channel_id,
               RoutingRule.product_id, RoutingRule.place).order_by(RoutingRule.id))]


def warehouse(warehouse_id: int) -> Warehouse:
    """A warehouse as stored, after the request's work."""
    db.session.rollback()
    return db.session.get(Warehouse, warehouse_id)


def visible(markup: str) -> str:
    """What a reader sees of some markup: the text without tags, spaces collapsed."""
    return squash(re.sub(r"<[^>]+>", " ", markup))


def group(resp, kind: str) -> str:
    """The visible text of one group of rules on the page or fragment."""
    inside = text(resp).split(f'data-kind="{kind}"', 1)[1].split(">", 1)[1]
    return visible(inside.split("</section>", 1)[0])


def row(resp, attribute: str) -> str:
    """The visible text of the table row carrying this data attribute."""
    inside = text(resp).split(attribute, 1)[1].split(">", 1)[1]
    return visible(inside.split("</tr>", 1)[0])


# --- access -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "operator"])
def test_routing_settings_refused_for_agents_and_operators(login, make_warehouse, role):
    """Only managers and admins see or change routing."""
    wh = make_warehouse(priority=7)
    c = login(role)
    assert c.get(PAGE).status_code == 403
    for url, data in [(f"/settings/routing/warehouses/{wh.id}", {"priority": "1"}),
                      (RULES, {"kind": "geo", "warehouse_id": wh.id, "place": "Fès"})]:
        assert c.post(url, data=data, htmx=True).status_code == 403
    assert warehouse(wh.id).priority == 7 and rules() == []


def test_routing_rule_removal_refused_for_operators(login, make_warehouse):
    """An operator cannot remove a rule either."""
    wh = make_warehouse()
    db.session.add(RoutingRule(kind="geo", warehouse_id=wh.id, place="Fès"))
    db.session.commit()
    rule_id = db.session.scalar(select(RoutingRule.id))
    assert login("operator").post(f"{RULES}/{rule_id}/delete").status_code == 403
    assert len(rules()) == 1


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_routing_page_explains_each_step(login, make_warehouse, make_channel, role):
    """The page lists the warehouses and every group of rules, each with what it does."""
    casa = make_warehouse(name="Casa Nord", code="CASA", priority=5, catch_all=True)
    old = make_warehouse(name="Old depot", code="OLD", active=False)
    make_channel(name="Souk Shop")
    resp = login(role).get(PAGE)
    assert resp.status_code == 200
    assert heading(resp) == "Routing"
    assert row(resp, f'data-warehouse="{casa.id}"') == "Casa Nord CASA catch-all — Catch-all Save"
    assert 'value="5"' in text(resp).split(f'data-warehouse="{casa.id}"', 1)[1]
    assert row(resp, f'data-warehouse="{old.id}"').startswith("Old depot OLD inactive")
    page = visible(text(resp))
    assert "Orders from the channel go to the warehouse, when it has the stock." in page
    assert page.index("Exclusions") < page.index("Channel overrides") < page.index(
        "Pinned products") < page.index("Geography")
    assert "Souk Shop" in group(resp, "channel")


def test_routing_post_without_csrf_refused(login, make_warehouse):
    """A POST without the token changes nothing."""
    wh = make_warehouse()
    resp = login("manager").post(RULES, data={"kind": "geo", "warehouse_id": wh.id,
                                              "place": "Fès"}, csrf=False)
    assert resp.status_code == 400
    assert rules() == []


# --- warehouses -------------------------------------------------------------------


def test_warehouse_priority_saved_and_audited(login, make_warehouse):
    """A new priority is stored and the fragment shows it."""
    wh = make_warehouse(name="Casa Nord", priority=100)
    c = login("manager")
    resp = c.post(f"/settings/routing/warehouses/{wh.id}", data={"priority": "3"}, htmx=True)
    assert resp.status_code == 200
    assert "<html" not in resp.get_data(as_text=True)
    assert "Casa Nord saved." in text(resp)
    assert 'value="3"' in resp.get_data(as_text=True)
    assert warehouse(wh.id).priority == 3
    audit = db.session.scalars(select(AuditEvent).filter_by(kind="routing")).one()
    assert audit.actor_user_id == c.user.id and "priority 100 → 3" in audit.note


def test_new_catch_all_replaces_the_old_and_says_so(login, make_warehouse):
    """Only one catch-all: ticking it on another warehouse clears the first."""
    old = make_warehouse(name="Casa Nord", catch_all=True)
    new = make_warehouse(name="Rabat Sud")
    resp = login("manager").post(f"/settings/routing/warehouses/{new.id}",
                                 data={"priority": "100", "catch_all": "y"}, htmx=True)
    assert resp.status_code == 200
    assert "Rabat Sud is now the catch-all; Casa Nord no longer is." in text(resp)
    assert (warehouse(old.id).catch_all, warehouse(new.id).catch_all) == (False, True)


def test_warehouse_save_from_a_plain_form_redirects_with_message(login, make_warehouse):
    """Without htmx the page comes back with the message."""
    wh = make_warehouse(name="Casa Nord")
    c = login("manager")
    resp = c.post(f"/settings/routing/warehouses/{wh.id}", data={"priority": "9"})
    assert resp.status_code == 303 and location(resp)[0] == PAGE
    assert "Casa Nord saved." in text(c.get(PAGE))


@pytest.mark.parametrize(("data", "message"), [
    ({"priority": "-1"}, "Priority is a whole number from 0 to 9999"),
    ({"priority": "10000"}, "Priority is a whole number from 0 to 9999"),
    ({"priority": "soon"}, "Priority: Not a valid integer value."),
    ({"priority": ""}, "Priority: This field is required."),
])
def test_warehouse_bad_priority_refused(login, make_warehouse, data, message):
    """A priority out of range or not a number is a 422 with the reason; nothing stored."""
    wh = make_warehouse(priority=50)
    resp = login("manager").post(f"/settings/routing/warehouses/{wh.id}", data=data,
                                 htmx=True)
    assert resp.status_code == 422
    assert resp.headers["HX-Retarget"] == "#messages"
    assert message in text(resp)
    assert warehouse(wh.id).priority == 50


def test_inactive_warehouse_cannot_be_catch_all(login, make_warehouse):
    """A warehouse routing never uses cannot take what others lack."""
    wh = make_warehouse(name="Old depot", active=False)
    resp = login("manager").post(f"/settings/routing/warehouses/{wh.id}",
                                 data={"priority": "1", "catch_all": "y"}, htmx=True)
    assert resp.status_code == 422
    assert "Old depot is inactive" in text(resp)
    assert warehouse(wh.id).catch_all is False


def test_unknown_warehouse_not_found(login):
    """Saving a warehouse that does not exist is a 404."""
    resp = login("manager").post("/settings/routing/warehouses/999999",
                                 data={"priority": "1"}, htmx=True)
    assert resp.status_code == 404


# --- rules ------------------------------------------------------------------------


def test_add_each_kind_of_rule(login, make_warehouse, make_channel, make_product):
    """Each group's form adds its rule and the refreshed rules show it in its group."""
    wh = make_warehouse(name="Casa Nord")
    shop = make_channel(name="Souk Shop")
    scarf = make_product(stock=0, sku="SCARF-1", name="Silk scarf")
    c = login("manager")
    posts = [
        {"kind": "channel", "warehouse_id": wh.id, "channel_id": shop.id},
        {"kind": "product", "warehouse_id": wh.id, "sku": " SCARF-1 "},
        {"kind": "geo", "warehouse_id": wh.id, "place": "  Fès  "},
        {"kind": "exclude", "warehouse_id": wh.id, "sku": "SCARF-1", "channel_id": ""},
    ]
    for data in posts:
        resp = c.post(RULES, data=data, htmx=True)
        assert resp.status_code == 200, text(resp)
        assert "<html" not in resp.get_data(as_text=True)
    assert "Souk Shop Casa Nord" in group(resp, "channel")
    assert "SCARF-1 Silk scarf Casa Nord" in group(resp, "product")
    assert "Fès Casa Nord" in group(resp, "geo")
    assert "Casa Nord SCARF-1 Silk scarf Any channel" in group(resp, "exclude")
    assert rules() == [("channel", wh.id, shop.id, None, ""),
                       ("product", wh.id, None, scarf.id, ""),
                       ("geo", wh.id, None, None, "Fès"),
                       ("exclude", wh.id, None, scarf.id, "")]
    notes = db.session.scalars(select(AuditEvent.note).filter_by(kind="routing")).all()
    assert "Routing: rule added: orders to Fès go to Casa Nord" in notes


def test_remove_rule(login, make_warehouse):
    """Remove takes the rule away and the group says there is none."""
    wh = make_warehouse()
    db.session.add(RoutingRule(kind="geo", warehouse_id=wh.id, place="Fès"))
    db.session.commit()
    rule_id = db.session.scalar(select(RoutingRule.id))
    resp = login("manager").post(f"{RULES}/{rule_id}/delete", htmx=True)
    assert resp.status_code == 200
    assert "None." in group(resp, "geo") and "Fès" not in group(resp, "geo")
    assert rules() == []


def test_remove_rule_from_a_plain_form_redirects(login, make_warehouse):
    """Without htmx, removing goes back to the page."""
    wh = make_warehouse()
    db.session.add(RoutingRule(kind="geo", warehouse_id=wh.id, place="Fès"))
    db.session.commit()
    rule_id = db.session.scalar(select(RoutingRule.id))
    resp = login("manager").post(f"{RULES}/{rule_id}/delete")
    assert resp.status_code == 303 and location(resp)[0] == PAGE
    assert rules() == []


def test_remove_unknown_rule_not_found(login):
    """A rule that is not there is a 404."""
    assert login("manager").post(f"{RULES}/999999/delete", htmx=True).status_code == 404


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "geo", "warehouse_id": "999999", "place": "Fès"},
     "Choose one of the active warehouses."),
    ({"kind": "geo", "place": "Fès"}, "Choose one of the active warehouses."),
    ({"kind": "geo", "warehouse_id": "{wh}", "place": "   "},
     "Write the city or region this rule is for."),
    ({"kind": "geo", "warehouse_id": "{wh}", "place": "x" * 121},
     "A place name has at most 120 characters."),
    ({"kind": "product", "warehouse_id": "{wh}", "sku": "NOPE-9"},
     "No product has the SKU “NOPE-9”."),
    ({"kind": "product", "warehouse_id": "{wh}", "sku": ""},
     "Write the SKU of the product to pin."),
    ({"kind": "channel", "warehouse_id": "{wh}", "channel_id": ""},
     "Choose the channel whose orders this rule sends."),
    ({"kind": "channel", "warehouse_id": "{wh}", "channel_id": "999999"},
     "Choose one of the channels in the list."),
    ({"kind": "teleport", "warehouse_id": "{wh}"}, "Rule: Not a valid choice."),
    ({"kind": "geo", "warehouse_id": "{old}", "place": "Fès"},
     "Choose one of the active warehouses."),
])
def test_add_rule_bad_input_refused(login, make_warehouse, data, message):
    """Bad input is a 422 fragment with a human message, and no rule is stored."""
    wh, old = make_warehouse(), make_warehouse(active=False)
    data = {k: v.format(wh=wh.id, old=old.id) for k, v in data.items()}
    resp = login("manager").post(RULES, data=data, htmx=True)
    assert resp.status_code == 422
    assert resp.headers["HX-Retarget"] == "#messages"
    assert message in text(resp)
    assert rules() == []


@pytest.mark.parametrize(("first", "again"), [
    ({"kind": "geo", "place": "Fès"}, {"kind": "geo", "place": " FES "}),
    ({"kind": "exclude", "sku": "", "channel_id": ""}, {"kind": "exclude"}),
    ({"kind": "product", "sku": "SCARF-1"}, {"kind": "product", "sku": "SCARF-1"}),
])
def test_add_duplicate_rule_refused(login, make_warehouse, make_product, first, again):
    """The same rule twice is refused, naming it; geography compares places as routing does."""
    wh = make_warehouse(name="Casa Nord")
    make_product(stock=0, sku="SCARF-1")
    c = login("manager")
    assert c.post(RULES, data={**first, "warehouse_id": wh.id}, htmx=True).status_code == 200
    resp = c.post(RULES, data={**again, "warehouse_id": wh.id}, htmx=True)
    assert resp.status_code == 422
    assert "That rule is already there" in text(resp)
    assert len(rules()) == 1


def test_same_place_to_another_warehouse_is_not_a_duplicate(login, make_warehouse):
    """A second warehouse for a place is a fallback, not a duplicate."""
    one, two = make_warehouse(), make_warehouse()
    c = login("manager")
    for wh in (one, two):
        resp = c.post(RULES, data={"kind": "geo", "warehouse_id": wh.id, "place": "Fès"},
                      htmx=True)
        assert resp.status_code == 200
    assert len(rules()) == 2


# --- the order page ------------------------------------------------------------------


def test_order_page_shows_where_each_line_goes_and_why(login, make_order, make_warehouse,
                                                        make_product, make_supplier):
    """Each line shows its warehouse or supplier and the rule that chose it."""
    casa = make_warehouse(name="Casa Nord", priority=50)
    db.session.add(RoutingRule(kind="geo", warehouse_id=casa.id, place="Casablanca"))
    scarf = make_product(stock=5, warehouse=make_warehouse(priority=1), sku="SCARF-1")
    receive_stock(casa, scarf.id, 5, Actor.system("test"), "opening stock")
    supplier = make_supplier(name="Atlas Dropship")
    lamp = make_product(stock=0, sku="LAMP-2", dropship_supplier_id=supplier.id)
    order = make_order(lines=[(scarf, 1), (lamp, 1)], city="casablanca")
    reroute_order(order, Actor.system())
    db.session.commit()
    page = visible(text(login("manager").get(f"/orders/{order.id}")))
    assert "SCARF-1" in page and "Casa Nord geography: Casablanca" in page
    assert "Supplier Atlas Dropship dropship: Atlas Dropship" in page
