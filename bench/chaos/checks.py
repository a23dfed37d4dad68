"""What must hold after a chaos run, read from codboard's database and the sandbox
partners' own records (tables they keep as the real carrier and supplier would)."""

import subprocess
import sys

from sqlalchemy import text


def _one(conn, sql: str, **params) -> int:
    return int(conn.execute(text(sql), params).scalar() or 0)


def due_work(conn, cutoff) -> dict[str, int]:
    """Work the database says is still to do (what reconcile and the jobs drain); the
    marketplace keeps placing orders, so only those placed before `cutoff` count."""
    return {
        "unregistered": _one(conn, UNREGISTERED),
        "unrestocked": _one(conn, UNRESTOCKED),
        "carrier webhooks unapplied": _one(
            conn, "SELECT COUNT(*) FROM carrier_webhooks WHERE processed_at IS NULL"),
        "channel webhooks unapplied": _one(
            conn, "SELECT COUNT(*) FROM channel_webhooks WHERE processed_at IS NULL"),
        "supplier orders queued": _one(
            conn, "SELECT COUNT(*) FROM supplier_orders WHERE status = 'pending'"
                  " AND process_requested_at IS NOT NULL"),
        "marketplace orders not imported": _one(conn, MARKETPLACE_MISSING, cutoff=cutoff),
    }


# Confirmed carrier orders with lines of our own whose parcel the carrier never confirmed
# (while they wait for it: an operator may cancel or take back a packed order before).
UNREGISTERED = """
SELECT COUNT(*) FROM orders o
WHERE o.confirmation_status = 'confirmed' AND o.delivery_mode = 'carrier'
  AND o.shipping_status IN ('created', 'fulfilled')
  AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.supplier_id IS NULL)
  AND NOT EXISTS (SELECT 1 FROM parcels p WHERE p.order_id = o.id AND p.leads
                  AND p.registered_at IS NOT NULL)"""
# Returned orders' reserved lines without their restock movement.
UNRESTOCKED = """
SELECT COUNT(*) FROM stock_movements r JOIN order_lines l ON l.id = r.order_line_id
JOIN orders o ON o.id = l.order_id
WHERE r.reason = 'reserve' AND o.shipping_status = 'returned'
  AND NOT EXISTS (SELECT 1 FROM stock_movements s WHERE s.order_line_id = r.order_line_id
                  AND s.reason = 'restock')"""
MARKETPLACE_MISSING = """
SELECT COUNT(*) FROM sandbox_shop_orders m WHERE m.created_at < :cutoff AND NOT EXISTS (
  SELECT 1 FROM orders o JOIN channels c ON c.id = o.channel_id
  WHERE c.code = 'marketplace' AND o.external_id = m.number)"""


def invariants(conn, api_ids: list[str], run_id: str, cutoff) -> dict[str, int]:
    """Each figure must be 0 (marketplace orders placed before `cutoff`)."""
    api_found = {row[0]: row[1] for row in conn.execute(text(
        "SELECT o.external_id, COUNT(*) FROM orders o JOIN channels c ON c.id = o.channel_id"
        " WHERE c.code = 'boutique' AND o.external_id LIKE :run GROUP BY o.external_id"),
        {"run": f"{run_id}-%"})}
    return {
        "lost API orders": sum(1 for e in api_ids if e not in api_found),
        "double API orders": sum(1 for n in api_found.values() if n > 1),
        "lost marketplace orders": _one(conn, MARKETPLACE_MISSING, cutoff=cutoff),
        "double marketplace orders": _one(conn, """
            SELECT COUNT(*) FROM (SELECT o.external_id FROM orders o
              JOIN channels c ON c.id = o.channel_id WHERE c.code = 'marketplace'
              GROUP BY o.external_id HAVING COUNT(*) > 1) d"""),
        "double restocks (lines with more than one)": _one(conn, """
            SELECT COUNT(*) FROM (SELECT order_line_id FROM stock_movements
              WHERE reason = 'restock' GROUP BY order_line_id HAVING COUNT(*) > 1) d"""),
        "returned lines not restocked": _one(conn, UNRESTOCKED),
        "stock levels not equal to their ledger": _one(conn, """
            SELECT COUNT(*) FROM stock_levels s WHERE s.on_hand <> (
              SELECT COALESCE(SUM(m.quantity), 0) FROM stock_movements m
              WHERE m.warehouse_id = s.warehouse_id AND m.product_id = s.product_id)"""),
        "double supplier submissions (supplier's records)": _one(conn, """
            SELECT COUNT(*) FROM (SELECT reference FROM sandbox_supplier_orders
              GROUP BY reference HAVING COUNT(*) > 1) d"""),
        "supplier orders submitted but unknown to the supplier": _one(conn, """
            SELECT COUNT(*) FROM supplier_orders so
            WHERE so.status IN ('submitted', 'accepted', 'shipped')
              AND NOT EXISTS (SELECT 1 FROM sandbox_supplier_orders s
                              WHERE s.idempotency_key LIKE '%' || so.idempotency_key)"""),
        "double carrier registrations (carrier's parcels per order)": _one(conn, """
            SELECT COUNT(*) FROM (SELECT reference FROM sandbox_parcels
              GROUP BY reference HAVING COUNT(*) > 1) d"""),
        "confirmed orders never registered": _one(conn, UNREGISTERED),
    }


def counters_match(env: dict[str, str]) -> bool:
    """`flask check-counters`: the counter tables equal a recount of the orders."""
    result = subprocess.run([sys.executable, "-m", "flask", "check-counters"], env=env,
                            capture_output=True, text=True)
    if result.returncode:
        print(result.stdout[-2000:], result.stderr[-2000:], sep="\n")
    return result.returncode == 0


# Answers in the traffic's tally that came from the sandbox partners, not from codboard.
PARTNERS = ("marketplace order",)


def server_errors(tally: dict[str, int]) -> int:
    """codboard's own 5xx answers to the traffic (keys end in the status code)."""
    return sum(n for key, n in tally.items()
               if not key.startswith(PARTNERS)
               and (code := key.rsplit(" ", 1)[-1]).isdigit() and code.startswith("5"))
