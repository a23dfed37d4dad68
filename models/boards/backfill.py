"""Fill the order columns the boards measure from the history that records them: for
data written before they existed (the migration) or written through the operations
and dated afterwards (the demo)."""

from sqlalchemy import text

# An order's carrier is its leading parcel's; own parcels before a supplier's.
CARRIER_FROM_PARCEL = (
    "UPDATE orders SET carrier_id = (SELECT parcels.carrier_id FROM parcels"
    " WHERE parcels.order_id = orders.id AND parcels.leads"
    " AND parcels.carrier_id IS NOT NULL"
    " ORDER BY parcels.supplier_order_id IS NOT NULL, parcels.id LIMIT 1)"
    " WHERE carrier_id IS NULL AND EXISTS (SELECT 1 FROM parcels WHERE"
    " parcels.order_id = orders.id AND parcels.leads AND parcels.carrier_id IS NOT NULL)")
FIRST_CALL_FROM_AUDIT = (
    "UPDATE orders SET first_call_at = (SELECT min(audit_events.created_at)"
    " FROM audit_events JOIN users ON users.id = audit_events.actor_user_id"
    " WHERE audit_events.order_id = orders.id AND audit_events.kind = 'confirmation'"
    " AND users.role = 'agent') WHERE attempts > 0 OR first_call_at IS NOT NULL")
SHIPPING_CHANGE_FROM_AUDIT = (
    "UPDATE orders SET shipping_changed_at = coalesce((SELECT max(audit_events.created_at)"
    " FROM audit_events WHERE audit_events.order_id = orders.id"
    " AND audit_events.kind = 'shipping'), updated_at) WHERE shipping_status IS NOT NULL")
REMITTANCE_FROM_LINES = (
    "UPDATE orders SET remittance = settled.outcome,"
    " remitted_cents = settled.amount_cents, remittance_fees_cents = settled.fees_cents"
    " FROM (SELECT remittance_lines.order_id, remittance_lines.outcome,"
    " remittance_lines.amount_cents, remittance_lines.fees_cents FROM remittance_lines"
    " JOIN parcels ON parcels.id = remittance_lines.parcel_id AND parcels.leads"
    " WHERE remittance_lines.outcome IN ('remitted', 'short', 'over')) AS settled"
    " WHERE settled.order_id = orders.id")


def date_from_history(connection) -> None:
    """Set carrier, first call, last shipping change and remittance from the parcels, the
    audit trail and the remittance lines (the caller rebuilds the rollups after)."""
    for statement in (CARRIER_FROM_PARCEL, FIRST_CALL_FROM_AUDIT, SHIPPING_CHANGE_FROM_AUDIT,
                      REMITTANCE_FROM_LINES):
        connection.execute(text(statement))
