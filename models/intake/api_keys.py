"""Channels' API keys: issued once in plain text, stored as SHA-256, revoked by managers.

A request's key is looked up by its hash and cached per process for a few seconds, so
the API costs no query per call, yet a key revoked in another process stops working
within KEY_TTL_SECONDS (at once in the process that revoked it).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from time import monotonic

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from models.actor import Actor
from models.audit import AuditEvent, audit_row
from models.base import db, utcnow
from models.catalog.sales import Channel
from models.errors import InvalidInput
from models.small_tables import cached, forget

from .tables import ApiKey

TOKEN_PREFIX = "cb_"
PREFIX_LENGTH = 10  # "cb_" and 7 characters: enough to tell keys apart in a list
NAME_MAX = 120  # ApiKey.name
KEY_TTL_SECONDS = 5.0
# last_used_at is a hint for managers ("used today?"), not a log: one write a minute.
TOUCH_EVERY = timedelta(minutes=1)
_CACHE = "api_key:"


@dataclass(frozen=True)
class ApiCaller:
    """Who a valid key speaks for: the key and its one channel (plain values, cacheable)."""

    key_id: int
    prefix: str
    channel_id: int
    channel_code: str


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_key(channel: Channel, name: str, actor: Actor) -> tuple[ApiKey, str]:
    """A new key for the channel and its plain text, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the key a name (where it is used, e.g. “Shop backend”)."))
    if len(name) > NAME_MAX:
        raise InvalidInput(_("The key's name is longer than %(max)s characters.", max=NAME_MAX))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(channel_id=channel.id, name=name, prefix=token[:PREFIX_LENGTH],
                 key_hash=hash_token(token), created_by_id=actor.user_id)
    db.session.add(key)
    _audit(actor, f"API key “{name}” ({key.prefix}…) issued for {channel.name}",
           None, key.prefix)
    db.session.flush()
    return key, token


def revoke_key(key: ApiKey, actor: Actor) -> None:
    """Stop a key from working; revoking a revoked key changes nothing."""
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    _audit(actor, f"API key “{key.name}” ({key.prefix}…) of {key.channel.name} revoked",
           key.prefix, "revoked")
    db.session.flush()
    forget(_CACHE)  # this process refuses it at once; others within KEY_TTL_SECONDS


def authenticate(bearer: str | None) -> ApiCaller | None:
    """The caller a bearer token belongs to, or None when it is unknown, revoked or its
    channel is switched off."""
    if not bearer or not bearer.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(bearer)
    caller = cached(_CACHE + digest, lambda: _load(digest), ttl=KEY_TTL_SECONDS)
    if caller is None:
        # Only live keys stay cached: random tokens must not fill memory, and a key
        # issued by another process works at once.
        forget(_CACHE + digest)
        return None
    _touch(caller.key_id)
    return caller


def _load(digest: str) -> ApiCaller | None:
    """The live key with this hash (one indexed query)."""
    row = db.session.execute(
        select(ApiKey.id, ApiKey.prefix, ApiKey.channel_id, Channel.code)
        .join(Channel, Channel.id == ApiKey.channel_id)
        # A switched-off channel takes no orders, through any of its keys.
        .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None),
               Channel.active.is_(True))
    ).first()
    return ApiCaller(*row) if row is not None else None


def _touch(key_id: int) -> None:
    """Record that the key was used, at most once a minute per key and process."""
    touched = current_app.extensions.setdefault("api_key_touched", {})
    now = monotonic()
    if now - touched.get(key_id, -1e9) < TOUCH_EVERY.total_seconds():
        return
    touched[key_id] = now
    at = utcnow()
    # Its own autocommit statement: a GET's transaction stays read-only, and the guard
    # keeps several processes from each writing it within the same minute.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id,
                   or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < at - TOUCH_EVERY))
            .values(last_used_at=at))


def _audit(actor: Actor, note: str, src: str | None, dst: str) -> None:
    """An audit event about a key (no order): its prefix, never the token itself."""
    db.session.add(AuditEvent(**audit_row(None, actor, "api_key", src, dst, note[:1000])))
