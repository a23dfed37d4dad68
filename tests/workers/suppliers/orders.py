"""Purchase orders as codboard's submit job builds them, shared by the adapter tests."""

from workers.suppliers import PurchaseLine, PurchaseOrder, StatusQuery


def purchase_order(n: int = 1, **changes) -> PurchaseOrder:
    """Supplier order n of order 1200+n: two lines of the demo's mapped SKUs."""
    values = dict(
        supplier_order_id=n, idempotency_key=f"cbs-so-{n}-k1", reference=f"#{1200 + n}-{n}",
        customer_name="Salma Idrissi", phone="+212612345678",
        address="12 rue des Fleurs, Agdal", city="Rabat", region="Rabat-Salé-Kénitra",
        shipping_method="Standard",
        lines=(PurchaseLine(supplier_sku="ATL-SW-X8U", sku="WATCH-X8", name="Montre X8 Ultra",
                            quantity=2, unit_cost_cents=12950),
               PurchaseLine(supplier_sku="ATL-MG-PRO", sku="MASSAGE-GUN", name="Pistolet de "
                            "massage", quantity=1, unit_cost_cents=21000)))
    values.update(changes)
    return PurchaseOrder(**values)


def query(order: PurchaseOrder, supplier_ref: str | None) -> StatusQuery:
    """The status query for a submitted order."""
    return StatusQuery(supplier_order_id=order.supplier_order_id,
                       idempotency_key=order.idempotency_key, supplier_ref=supplier_ref,
                       reference=order.reference)
