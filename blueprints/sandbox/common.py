"""What every company the sandbox plays shares: JSON errors and bearer keys."""

from flask import jsonify, request


def json_error(status: int, message: str, **extra):
    """A JSON error answer, as an API's clients expect (never an HTML page)."""
    return jsonify(error=message, **extra), status


def bearer_key() -> str | None:
    """The bearer key of the request, or None."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > 255:
        return None
    return key


def field_at(data: dict, dotted: str):
    """data["customer"]["name"] for "customer.name" (None when absent)."""
    part, _, name = dotted.rpartition(".")
    holder = data.get(part) if part else data
    return holder.get(name) if isinstance(holder, dict) else None
