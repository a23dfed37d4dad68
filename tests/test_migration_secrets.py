"""Migration 0012 encrypts the partner secrets already stored, in place; its downgrade gives
them back in plain text."""

import json
from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from extensions import db
from models import Carrier, Channel, Supplier
from models.crypto import open_settings

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
SECRETS = {"carrier_key": "ck_plain_1111aaaa", "carrier_hook": "cwh_plain_2222bbbb",
           "shop_key": "shpat_plain_3333cccc", "shop_secret": "cs_plain_4444dddd",
           "shop_hook": "whsec_plain_5555eeee", "shop_old_hook": "whsec_plain_6666ffff",
           "supplier_key": "sup_plain_7777aaaa"}


def stored() -> dict[str, str | None]:
    """The secrets as the database holds them (no decryption on the way out)."""
    carrier = db.session.execute(text("SELECT api_key, webhook_secret FROM carriers")).one()
    channel = db.session.execute(text(
        "SELECT api_key, api_secret, webhook_secret, settings FROM channels")).one()
    supplier = db.session.execute(text("SELECT api_key FROM suppliers")).one()
    # PostgreSQL hands JSON out decoded, SQLite as text.
    settings = channel[3] if isinstance(channel[3], dict) else json.loads(channel[3])
    db.session.rollback()
    return {"carrier_key": carrier[0], "carrier_hook": carrier[1], "shop_key": channel[0],
            "shop_secret": channel[1], "shop_hook": channel[2],
            "shop_old_hook": settings.get("previous_webhook_secret"),
            "supplier_key": supplier[0]}


def test_plain_secrets_are_encrypted_by_0012_and_still_work(app, make_carrier, make_channel,
                                                            make_supplier):
    """Secrets stored before 0012 are ciphertext after it and read back as they were."""
    carrier = make_carrier(api_key=SECRETS["carrier_key"],
                           webhook_secret=SECRETS["carrier_hook"])
    channel = make_channel(kind="shopify", api_key=SECRETS["shop_key"],
                           api_secret=SECRETS["shop_secret"], webhook_secret=SECRETS["shop_hook"],
                           settings={"api_version": "2026-07",
                                     "previous_webhook_secret": SECRETS["shop_old_hook"]})
    supplier = make_supplier(api_key=SECRETS["supplier_key"])
    ids = carrier.id, channel.id, supplier.id
    db.session.remove()

    downgrade(directory=MIGRATIONS, revision="0011_login")
    assert stored() == SECRETS  # before 0012: plain text

    upgrade(directory=MIGRATIONS)
    after = stored()
    for name, plain in SECRETS.items():
        assert after[name].startswith("enc1:") and plain not in after[name], name
    carrier, channel = db.session.get(Carrier, ids[0]), db.session.get(Channel, ids[1])
    assert (carrier.api_key, carrier.webhook_secret) == (SECRETS["carrier_key"],
                                                         SECRETS["carrier_hook"])
    assert (channel.api_key, channel.api_secret, channel.webhook_secret) == (
        SECRETS["shop_key"], SECRETS["shop_secret"], SECRETS["shop_hook"])
    assert open_settings(channel.settings) == {
        "api_version": "2026-07", "previous_webhook_secret": SECRETS["shop_old_hook"]}
    assert db.session.get(Supplier, ids[2]).api_key == SECRETS["supplier_key"]


def test_0012_leaves_empty_secrets_empty(app, make_carrier):
    """A carrier without secrets has none after the upgrade (no ciphertext of nothing)."""
    make_carrier(api_key=None, webhook_secret="")
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0011_login")
    upgrade(directory=MIGRATIONS)
    row = db.session.execute(text("SELECT api_key, webhook_secret FROM carriers")).one()
    assert tuple(row) == (None, "")
