"""Stock pages: products on hand and a product's ledger, one restock per returned line."""

from extensions import db
from models import Actor
from models.shipping.operations import move_by_hand

from .pages import text


def test_ledger_shows_one_reserve_and_one_restock_for_a_returned_line(login, parcel_order):
    order, _parcel = parcel_order("in_return", lines=None)
    operator = login("operator")
    move_by_hand(order, "returned", Actor.of(operator.user), source="scan")
    db.session.commit()
    product = order.lines[0].product
    page = operator.get(f"/stock/{product.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert body.count('data-reason="Restocked"') == 1
    assert body.count('data-reason="Reserved"') == 1
    assert f"#{order.id}" in body and "matches" in body


def test_products_list_searches_and_swaps_only_the_results(login, make_product):
    make_product(sku="MUG-BLUE", name="Mug bleu", stock=7)
    make_product(sku="TEE-RED", name="T-shirt rouge", stock=3)
    operator = login("operator")
    page = operator.get("/stock/?q=mug")
    assert "MUG-BLUE" in text(page) and "TEE-RED" not in text(page)
    fragment = operator.hx_get("/stock/?q=zzz").get_data(as_text=True)
    assert "<html" not in fragment and "No product matches" in fragment


def test_agents_cannot_see_stock(login, make_product):
    product = make_product()
    agent = login("agent")
    assert agent.get("/stock/").status_code == 403
    assert agent.get(f"/stock/{product.id}").status_code == 403


def test_unknown_product_is_404(login):
    assert login("manager").get("/stock/999999").status_code == 404
