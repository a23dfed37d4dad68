"""`flask rotate-secrets`: re-encrypt every stored partner secret with the newest key,
or with --check only say whether each one opens with the configured keys."""

from collections import Counter
from dataclasses import dataclass

import click
from sqlalchemy import JSON, Integer, Table, Text, column, select, table

from extensions import db
from models.crypto import (
    SEALED_SETTINGS,
    EncryptedText,
    SecretsKeyError,
    decrypt,
    is_encrypted,
    opens_with_newest,
    rotate,
)


@dataclass(frozen=True)
class Place:
    """Where one stored secret lives: table.column of a row, and the settings key if any."""

    table: str
    column: str
    row_id: int
    key: str = ""

    def __str__(self) -> str:
        return f"{self.table}.{self.column}" + (f"[{self.key}]" if self.key else "") + \
            f" of row {self.row_id}"


def encrypted_columns() -> dict[str, list[str]]:
    """Table name -> its EncryptedText columns, from the models (new ones are found too)."""
    found: dict[str, list[str]] = {}
    for model_table in db.metadata.sorted_tables:
        names = [c.name for c in model_table.columns if isinstance(c.type, EncryptedText)]
        if names:
            found[model_table.name] = names
    return found


def _raw(name: str, columns: list[str], kind=Text) -> Table:
    """The table with these columns read as stored (no decryption on the way out)."""
    return table(name, column("id", Integer), *(column(c, kind) for c in columns))


def stored_secrets() -> list[tuple[Place, str]]:
    """Every non-empty stored secret with where it lives, as stored."""
    found = []
    for name, columns in encrypted_columns().items():
        raw = _raw(name, columns)
        for row in db.session.execute(select(raw).order_by(raw.c.id)).mappings():
            found.extend((Place(name, c, row["id"]), row[c]) for c in columns if row[c])
    for where, keys in SEALED_SETTINGS.items():
        name, settings_column = where.split(".")
        raw = _raw(name, [settings_column], JSON)
        for row in db.session.execute(select(raw).order_by(raw.c.id)).mappings():
            settings = row[settings_column] or {}
            found.extend((Place(name, settings_column, row["id"], key), settings[key])
                         for key in keys if isinstance(settings.get(key), str) and settings[key])
    return found


def _write(place: Place, value: str) -> None:
    """Store a new ciphertext where the secret was."""
    if not place.key:
        raw = _raw(place.table, [place.column])
        db.session.execute(raw.update().where(raw.c.id == place.row_id)
                           .values({place.column: value}))
        return
    raw = _raw(place.table, [place.column], JSON)
    settings = dict(db.session.execute(select(raw.c[place.column])
                                       .where(raw.c.id == place.row_id)).scalar_one() or {})
    settings[place.key] = value
    db.session.execute(raw.update().where(raw.c.id == place.row_id)
                       .values({place.column: settings}))


def check_secrets() -> tuple[Counter, list[Place]]:
    """Counts (current key, older key, plain) and the places whose secret does not open."""
    counts: Counter = Counter()
    unreadable = []
    for place, value in stored_secrets():
        if not is_encrypted(value):
            counts["plain"] += 1
            continue
        try:
            decrypt(value)
        except SecretsKeyError:
            unreadable.append(place)
            continue
        counts["current" if opens_with_newest(value) else "older"] += 1
    return counts, unreadable


def rotate_secrets() -> Counter:
    """Re-encrypt every stored secret with the newest key; SecretsKeyError names the first
    that does not open (the caller rolls back: nothing is half rotated)."""
    counts: Counter = Counter()
    for place, value in stored_secrets():
        try:
            _write(place, rotate(value))
        except SecretsKeyError as error:
            raise SecretsKeyError(f"{place}: {error}") from error
        counts["encrypted" if is_encrypted(value) else "plain"] += 1
    return counts


@click.command("rotate-secrets")
@click.option("--check", is_flag=True,
              help="Only check that every stored secret opens with the configured keys.")
def rotate_secrets_command(check: bool) -> None:
    """Re-encrypt partner secrets with the first key of CODBOARD_SECRETS_KEY (one transaction)."""
    if check:
        _report_check()
        return
    try:
        counts = rotate_secrets()
    except SecretsKeyError as error:
        db.session.rollback()
        raise click.ClickException(f"nothing changed: {error}. Put the key it was written "
                                   "with after the new one in CODBOARD_SECRETS_KEY.") from None
    db.session.commit()
    click.echo(f"re-encrypted {counts['encrypted']} secret(s) with the current key; "
               f"encrypted {counts['plain']} stored in plain text")


def _report_check() -> None:
    """Print what --check found; exit 1 when a secret does not open or is plain text."""
    counts, unreadable = check_secrets()
    db.session.rollback()
    click.echo(f"{counts['current']} secret(s) under the current key, {counts['older']} under "
               f"an older key, {counts['plain']} in plain text, {len(unreadable)} unreadable")
    for place in unreadable:
        click.echo(f"does not open with CODBOARD_SECRETS_KEY: {place}", err=True)
    if counts["older"] or counts["plain"]:
        click.echo("run `flask rotate-secrets` (before removing any older key)")
    if unreadable or counts["plain"]:
        raise click.exceptions.Exit(1)
