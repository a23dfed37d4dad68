"""A per-process cache for small tables read on every page (names, settings).

Entries live a few seconds, so another process's change shows up quickly; a
change made through this process's ORM clears the cache at once.
"""

from itertools import chain
from time import monotonic

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

TTL_SECONDS = 15.0
_WATCHED: tuple[type, ...] = ()


def cached(key: str, load, ttl: float = TTL_SECONDS):
    """The value stored under key, loaded again when missing or older than the TTL."""
    store = current_app.extensions.setdefault("small_tables", {})
    hit = store.get(key)
    now = monotonic()
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    value = load()
    store[key] = (now, value)
    return value


def clear() -> None:
    """Forget every cached entry of the current app."""
    if has_app_context():
        current_app.extensions.pop("small_tables", None)


def live_keys(prefix: str) -> list[str]:
    """The keys this process holds under a prefix."""
    store = current_app.extensions.get("small_tables", {})
    return [k for k in store if k.startswith(prefix)]


def forget(prefix: str) -> None:
    """Drop the entries whose key starts with prefix (this process wrote what they hold)."""
    if has_app_context():
        store = current_app.extensions.get("small_tables", {})
        for key in [k for k in store if k.startswith(prefix)]:
            store.pop(key, None)


def watch(*models: type) -> None:
    """Clear the cache whenever a flush writes one of these models."""
    global _WATCHED
    _WATCHED = _WATCHED + models


@event.listens_for(Session, "after_flush")
def _writes_clear_cache(session: Session, _context) -> None:
    if _WATCHED and any(isinstance(obj, _WATCHED)
                        for obj in chain(session.new, session.dirty, session.deleted)):
        clear()
