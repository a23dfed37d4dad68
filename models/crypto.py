"""Secrets at rest: partner credentials are Fernet-encrypted with a key kept apart from
SECRET_KEY, so a database dump alone gives no working credential."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app, has_app_context
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

# Marks a stored value as ciphertext; a value without it is legacy plain text that
# `flask rotate-secrets` (and migration 0012) encrypts.
PREFIX = "enc1:"
EXTENSION = "codboard_crypto"
# Secrets kept inside a JSON settings column ("table.column" -> keys), stored as ciphertext
# like an EncryptedText column: Shopify's client secret from before a rotation.
SEALED_SETTINGS: dict[str, tuple[str, ...]] = {"channels.settings": ("previous_webhook_secret",)}


class SecretsKeyError(RuntimeError):
    """A stored secret cannot be read with the configured keys."""


def keyring(keys: list[str]) -> MultiFernet:
    """The first key encrypts; every key decrypts (old keys stay until rotation is done)."""
    if not keys:
        raise SecretsKeyError("no secrets key configured (CODBOARD_SECRETS_KEY)")
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError:
            # The key itself is never echoed: it may be a real one with a typo.
            raise SecretsKeyError(
                f"CODBOARD_SECRETS_KEY: key {number} of {len(keys)} is not a Fernet key "
                "(44 characters of url-safe base64, as Fernet.generate_key() prints)") from None
    return MultiFernet(fernets)


def init_app(app: Flask) -> None:
    """Build the app's keyring from SECRETS_KEYS."""
    app.extensions[EXTENSION] = keyring(list(app.config["SECRETS_KEYS"]))


def _current() -> MultiFernet:
    """The keyring of the running app."""
    if not has_app_context():
        raise SecretsKeyError("secrets are read and written inside an app context")
    return current_app.extensions[EXTENSION]


def encrypt(plain: str, ring: MultiFernet | None = None) -> str:
    """Ciphertext for a secret, with the current key."""
    return PREFIX + (ring or _current()).encrypt(plain.encode()).decode()


def decrypt(stored: str, ring: MultiFernet | None = None) -> str:
    """The plain secret; legacy plain text passes through unchanged."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return (ring or _current()).decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as error:
        raise SecretsKeyError("a stored secret does not open with CODBOARD_SECRETS_KEY") from error


def rotate(stored: str, ring: MultiFernet | None = None) -> str:
    """The same secret re-encrypted with the current key (plain text gets encrypted)."""
    ring = ring or _current()
    if not stored.startswith(PREFIX):
        return encrypt(stored, ring)
    try:
        return PREFIX + ring.rotate(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as error:
        raise SecretsKeyError("a stored secret does not open with CODBOARD_SECRETS_KEY") from error


def is_encrypted(stored: str | None) -> bool:
    """True when the stored value is ciphertext (or empty)."""
    return not stored or stored.startswith(PREFIX)


def opens_with_newest(stored: str) -> bool:
    """True when the ciphertext is under the first (current) key, False under an older one."""
    newest = Fernet(list(current_app.config["SECRETS_KEYS"])[0].encode())
    try:
        newest.decrypt(stored[len(PREFIX):].encode())
    except InvalidToken:
        return False
    return True


def seal_settings(settings: dict | None) -> dict:
    """A settings dict to store: its secret keys encrypted (already sealed ones kept)."""
    sealed = dict(settings or {})
    for key in _settings_keys():
        value = sealed.get(key)
        if isinstance(value, str) and value and not value.startswith(PREFIX):
            sealed[key] = encrypt(value)
    return sealed


def open_settings(settings: dict | None) -> dict:
    """A stored settings dict as an adapter wants it: its secret keys in plain text."""
    opened = dict(settings or {})
    for key in _settings_keys():
        if isinstance(opened.get(key), str):
            opened[key] = decrypt(opened[key])
    return opened


def _settings_keys() -> set[str]:
    """Every settings key that holds a secret."""
    return {key for keys in SEALED_SETTINGS.values() for key in keys}


def masked(plain: str | None) -> str:
    """What a screen shows of a secret: its last four characters, and only for long ones."""
    if not plain:
        return ""
    # Four characters of a short secret would give away most of it.
    return f"•••• {plain[-4:]}" if len(plain) >= 12 else "•••• (set)"


class EncryptedText(TypeDecorator):
    """A text column stored Fernet-encrypted; Python code sees plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Encrypt on the way in (an empty value stays empty: there is nothing to hide)."""
        return value if not value else encrypt(value)

    def process_result_value(self, value, dialect):
        """Decrypt on the way out."""
        return None if value is None else decrypt(value)
