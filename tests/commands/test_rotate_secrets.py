"""`flask rotate-secrets`: re-encrypt with the newest key, or --check that every secret opens."""

from contextlib import contextmanager

from cryptography.fernet import Fernet
from sqlalchemy import text

from app import create_app
from extensions import db
from models import Carrier, Channel, Supplier
from models.crypto import open_settings, seal_settings

OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))
SECRETS = ("ck_rotate_1111aaaa", "cwh_rotate_2222bbbb", "shpat_rotate_3333cccc",
           "whsec_rotate_4444dddd", "sup_rotate_5555eeee")


@contextmanager
def keyed(database_url: str, redis_url: str, *keys: str):
    """The app on the test database with CODBOARD_SECRETS_KEY set to these keys."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "REDIS_URL": redis_url, "SECRETS_KEYS": list(keys)})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def write_partners() -> tuple[int, int, int]:
    """A carrier, a channel (with a sealed previous webhook secret) and a supplier."""
    carrier = Carrier(name="Amana", code="amana", api_key=SECRETS[0], webhook_secret=SECRETS[1])
    channel = Channel(name="Souk", code="souk", kind="shopify", api_key=SECRETS[2],
                      settings=seal_settings({"previous_webhook_secret": SECRETS[3]}))
    supplier = Supplier(name="Atlas", api_key=SECRETS[4])
    db.session.add_all([carrier, channel, supplier])
    db.session.commit()
    return carrier.id, channel.id, supplier.id


def read_partners(ids) -> tuple:
    """The five secrets as the app reads them."""
    db.session.expire_all()
    carrier, channel = db.session.get(Carrier, ids[0]), db.session.get(Channel, ids[1])
    return (carrier.api_key, carrier.webhook_secret, channel.api_key,
            open_settings(channel.settings)["previous_webhook_secret"],
            db.session.get(Supplier, ids[2]).api_key)


def raw() -> list:
    """Every stored secret as the database holds it."""
    rows = [*db.session.execute(text("SELECT api_key, webhook_secret FROM carriers")).one(),
            *db.session.execute(text("SELECT api_key, settings FROM channels")).one(),
            db.session.execute(text("SELECT api_key FROM suppliers")).scalar_one()]
    db.session.rollback()
    return [str(value) for value in rows]


def invoke(app, *args):
    """Run the command on that app."""
    return app.test_cli_runner().invoke(args=["rotate-secrets", *args])


def test_rotation_with_two_keys_then_the_old_key_removed(app, database_url, redis_url):
    with keyed(database_url, redis_url, OLD) as old:
        ids = write_partners()
        assert invoke(old, "--check").output.startswith("5 secret(s) under the current key")

    with keyed(database_url, redis_url, NEW, OLD) as both:
        assert read_partners(ids) == SECRETS  # the old key still opens them
        check = invoke(both, "--check")
        assert check.exit_code == 0
        assert "0 secret(s) under the current key, 5 under an older key" in check.output
        before = raw()
        result = invoke(both)
        assert result.exit_code == 0, result.output
        assert "re-encrypted 5 secret(s) with the current key" in result.output
        assert raw() != before

    with keyed(database_url, redis_url, NEW) as new:
        assert read_partners(ids) == SECRETS
        check = invoke(new, "--check")
        assert check.exit_code == 0
        assert check.output.startswith("5 secret(s) under the current key, 0 under an older")
        assert not any(secret in value for secret in SECRETS for value in raw())


def test_check_with_a_wrong_key_names_what_does_not_open(app, database_url, redis_url):
    with keyed(database_url, redis_url, OLD):
        write_partners()
    with keyed(database_url, redis_url, STRANGER) as wrong:
        check = invoke(wrong, "--check")
        # A report and exit status 1, not a crash.
        assert check.exit_code == 1 and isinstance(check.exception, SystemExit)
        assert "5 unreadable" in check.output
        assert "does not open with CODBOARD_SECRETS_KEY: carriers.api_key of row" in check.output
        assert "channels.settings[previous_webhook_secret] of row" in check.output
        assert "Traceback" not in check.output


def test_rotation_with_a_wrong_key_changes_nothing(app, database_url, redis_url):
    with keyed(database_url, redis_url, OLD):
        ids = write_partners()
        before = raw()
    with keyed(database_url, redis_url, NEW, STRANGER) as wrong:
        result = invoke(wrong)
        assert result.exit_code == 1
        assert "nothing changed" in result.output and "does not open" in result.output
        assert raw() == before
    with keyed(database_url, redis_url, OLD):
        assert read_partners(ids) == SECRETS


def test_rotation_encrypts_a_secret_stored_in_plain_text(app, database_url, redis_url):
    with keyed(database_url, redis_url, NEW) as new:
        ids = write_partners()
        db.session.execute(text("UPDATE suppliers SET api_key = 'typed-by-hand-key'"))
        db.session.commit()
        check = invoke(new, "--check")
        assert check.exit_code == 1 and "1 in plain text" in check.output
        result = invoke(new)
        assert result.exit_code == 0
        assert "re-encrypted 4 secret(s)" in result.output and "encrypted 1 stored in plain" \
            in result.output
        assert "typed-by-hand-key" not in raw()[-1]
        assert read_partners(ids)[-1] == "typed-by-hand-key"
        assert invoke(new, "--check").exit_code == 0
