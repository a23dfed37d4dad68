"""Secrets at rest: EncryptedText columns, the keyring, sealed settings and masking."""

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

import config
from extensions import db
from models import Carrier
from models.crypto import (
    SecretsKeyError,
    decrypt,
    encrypt,
    keyring,
    masked,
    open_settings,
    seal_settings,
)

SECRET = "sk_live_secret_0123456789"


def raw_api_key(carrier_id: int) -> str | None:
    """The carrier's api_key as the database holds it."""
    value = db.session.execute(text("SELECT api_key FROM carriers WHERE id = :id"),
                               {"id": carrier_id}).scalar_one()
    db.session.rollback()
    return value


def test_encrypted_column_stores_ciphertext_and_reads_plain(make_carrier):
    carrier = make_carrier(api_key=SECRET)
    stored = raw_api_key(carrier.id)
    assert stored.startswith("enc1:") and SECRET not in stored
    db.session.expire_all()
    assert db.session.get(Carrier, carrier.id).api_key == SECRET


def test_encrypted_column_keeps_empty_values_empty(make_carrier):
    assert raw_api_key(make_carrier(api_key=None).id) is None
    assert raw_api_key(make_carrier(api_key="").id) == ""


def test_legacy_plain_value_is_read_as_it_is(make_carrier):
    """A value written before encryption (or by hand) still works until it is rotated."""
    carrier = make_carrier()
    db.session.execute(text("UPDATE carriers SET api_key = 'plain-legacy-key' WHERE id = :id"),
                       {"id": carrier.id})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Carrier, carrier.id).api_key == "plain-legacy-key"


def test_the_same_secret_is_stored_differently_each_time(app):
    """Fernet tokens carry a random IV: equal secrets cannot be spotted in a dump."""
    assert encrypt(SECRET) != encrypt(SECRET)
    assert decrypt(encrypt(SECRET)) == SECRET


def test_a_secret_written_with_another_key_gives_a_clear_error(app):
    foreign = encrypt(SECRET, keyring([Fernet.generate_key().decode()]))
    with pytest.raises(SecretsKeyError, match="does not open with CODBOARD_SECRETS_KEY"):
        decrypt(foreign)


def test_an_old_key_listed_second_still_opens(app):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    written = encrypt(SECRET, keyring([old]))
    assert decrypt(written, keyring([new, old])) == SECRET


@pytest.mark.parametrize("keys", [[], ["not-a-key"], [Fernet.generate_key().decode(), "short"]])
def test_a_missing_or_malformed_key_is_named_never_echoed(keys):
    with pytest.raises(SecretsKeyError, match="CODBOARD_SECRETS_KEY") as refused:
        keyring(keys)
    assert "not-a-key" not in str(refused.value) and "short" not in str(refused.value)


def test_keys_come_from_the_environment_newest_first(monkeypatch):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("CODBOARD_SECRETS_KEY", f" {new} , {old} ,")
    assert config._secrets_keys() == [new, old]


def test_settings_secrets_are_sealed_and_opened(app):
    sealed = seal_settings({"api_version": "2026-07", "previous_webhook_secret": SECRET})
    assert sealed["api_version"] == "2026-07"
    assert sealed["previous_webhook_secret"].startswith("enc1:")
    assert seal_settings(sealed) == sealed  # sealing twice changes nothing
    assert open_settings(sealed) == {"api_version": "2026-07",
                                     "previous_webhook_secret": SECRET}
    assert open_settings(None) == {}


def test_masked_shows_the_last_four_of_long_secrets_only():
    assert masked(SECRET) == "•••• 6789"
    assert masked("short-key") == "•••• (set)"
    assert masked(None) == masked("") == ""
