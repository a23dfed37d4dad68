"""Local checks before a supplier order leaves: what the supplier would refuse anyway."""

from models.phones import normalize_phone

MIN_ADDRESS = 8  # shorter is never a deliverable street address
MAX_QUANTITY = 999


def problems(so, lines, supplier_name: str, region: str = "MA") -> list[str]:
    """Why this supplier order cannot be submitted as it stands (empty: it can)."""
    found = []
    for line in lines:
        if not line.supplier_sku:
            found.append(f"SKU {line.sku} has no {supplier_name} SKU mapped.")
        if not 1 <= line.quantity <= MAX_QUANTITY:
            found.append(f"Quantity of {line.sku} must be between 1 and {MAX_QUANTITY}.")
    if not lines:
        found.append("No lines to send.")
    if not so.shipping_method:
        found.append(f"No shipping method: map the order's rate for {supplier_name} "
                     "or give the supplier a default method.")
    if len((so.address or "").strip()) < MIN_ADDRESS:
        found.append("The address is missing or too short to deliver to.")
    if not (so.city or "").strip():
        found.append("The city is missing.")
    if not (so.customer_name or "").strip():
        found.append("The customer's name is missing.")
    if not normalize_phone(so.phone or "", region):
        found.append(f"“{so.phone}” is not a phone number.")
    return found
