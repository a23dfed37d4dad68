"""API keys: issued once in plain text, stored hashed, revoked for good, used lightly."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Actor, ApiKey, AuditEvent, InvalidInput
from models.intake import api_keys
from models.intake.api_keys import authenticate, hash_token, issue_key, revoke_key


@pytest.fixture
def manager(make_user):
    """The manager who issues and revokes keys."""
    return Actor.of(make_user(role="manager"))


def test_issue_key_shows_the_token_once_and_stores_only_its_hash(make_channel, manager):
    channel = make_channel()
    key, token = issue_key(channel, "Shop backend", manager)
    db.session.commit()

    assert token.startswith("cb_") and len(token) > 40
    assert key.prefix == token[:10]
    stored = db.session.execute(select(ApiKey.key_hash)).scalars().all()
    assert stored == [hash_token(token)]
    assert token not in stored[0]
    event = db.session.execute(select(AuditEvent)).scalar_one()
    assert event.kind == "api_key" and event.order_id is None
    assert key.prefix in event.note and token not in event.note


def test_issue_key_gives_every_key_its_own_token(make_channel, manager):
    channel = make_channel()
    tokens = {issue_key(channel, f"key {n}", manager)[1] for n in range(3)}
    db.session.commit()
    assert len(tokens) == 3


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_issue_key_without_a_usable_name_is_refused(make_channel, manager, name):
    with pytest.raises(InvalidInput):
        issue_key(make_channel(), name, manager)


def test_authenticate_names_the_keys_channel(make_channel, manager):
    channel = make_channel()
    key, token = issue_key(channel, "Shop backend", manager)
    db.session.commit()

    caller = authenticate(token)
    assert (caller.key_id, caller.channel_id, caller.channel_code) == (
        key.id, channel.id, channel.code)


@pytest.mark.parametrize("bearer", [None, "", "cb_not-a-key", "sk_live_something"])
def test_authenticate_refuses_unknown_tokens(make_channel, manager, bearer):
    issue_key(make_channel(), "Shop backend", manager)
    db.session.commit()
    assert authenticate(bearer) is None


def test_key_issued_elsewhere_works_at_once(make_channel):
    channel, token = make_channel(), "cb_" + "k" * 43
    assert authenticate(token) is None
    # Another process issues it (the same row issue_key writes).
    db.session.add(ApiKey(channel_id=channel.id, name="elsewhere", prefix=token[:10],
                          key_hash=hash_token(token)))
    db.session.commit()
    assert authenticate(token) is not None


def test_revoked_key_stops_working_at_once_in_this_process(make_channel, manager):
    key, token = issue_key(make_channel(), "Shop backend", manager)
    db.session.commit()
    assert authenticate(token) is not None  # now cached

    revoke_key(key, manager)
    db.session.commit()

    assert authenticate(token) is None
    assert key.revoked_at is not None
    notes = db.session.execute(select(AuditEvent.to_value).order_by(AuditEvent.id)).scalars()
    assert list(notes) == [key.prefix, "revoked"]


def test_key_revoked_elsewhere_stops_working_when_the_cache_expires(
        make_channel, manager, monkeypatch):
    key, token = issue_key(make_channel(), "Shop backend", manager)
    db.session.commit()
    assert authenticate(token) is not None
    # Another process revokes it: this process's cache is not told.
    db.session.execute(ApiKey.__table__.update().values(revoked_at=key.created_at))
    db.session.commit()
    assert authenticate(token) is not None  # still within the short cache

    monkeypatch.setattr(api_keys, "KEY_TTL_SECONDS", 0.0)
    assert authenticate(token) is None


def test_revoking_twice_changes_nothing(make_channel, manager):
    key, _ = issue_key(make_channel(), "Shop backend", manager)
    revoke_key(key, manager)
    first = key.revoked_at
    revoke_key(key, manager)
    db.session.commit()
    assert key.revoked_at == first
    assert db.session.query(AuditEvent).count() == 2


def test_use_is_recorded_at_most_once_a_minute(make_channel, manager, monkeypatch):
    key, token = issue_key(make_channel(), "Shop backend", manager)
    db.session.commit()
    assert key.last_used_at is None

    authenticate(token)
    db.session.expire_all()
    first = key.last_used_at
    assert first is not None

    authenticate(token)
    db.session.expire_all()
    assert key.last_used_at == first  # a second call in the same minute writes nothing

    # A minute later (in this process's memory, and in the stored time) it is written again.
    monkeypatch.setattr(api_keys, "TOUCH_EVERY", timedelta(0))
    authenticate(token)
    db.session.expire_all()
    assert key.last_used_at > first


def test_a_switched_off_channels_keys_take_nothing(make_channel, manager):
    channel = make_channel(active=False)
    _key, token = issue_key(channel, "Old landing page", manager)
    db.session.commit()
    assert authenticate(token) is None
