"""Stock views: products on hand, and one product's ledger."""

from flask import request

from models.catalog import Product
from models.status import Role
from models.stock.queries import product_ledger, product_levels, products_on_hand

from ..web import get_or_404, render, role_required
from . import bp


@bp.get("/")
@role_required(Role.OPERATOR, Role.MANAGER)
def index():
    """Products with their stock on hand, searchable by SKU or name."""
    search = request.args.get("q", "")[:100]
    return render("stock/index.html", block="results", search=search,
                  products=products_on_hand(search))


@bp.get("/<int:product_id>")
@role_required(Role.OPERATOR, Role.MANAGER)
def product(product_id: int):
    """One product: on hand per warehouse beside its ledger, and its newest movements."""
    item = get_or_404(Product, product_id)
    return render("stock/product.html", product=item, levels=product_levels(item.id),
                  movements=product_ledger(item.id))
