"""A fresh database for a chaos run: migrated, the demo's users, carrier, channels,
supplier and products (no orders), plenty of stock and an API key for the shop."""

import subprocess
import sys

import psycopg
from sqlalchemy.engine import make_url

API_CHANNEL = "boutique"  # the demo's API channel
KEY_NAME = "chaos"


def recreate_database(url: str) -> None:
    """Drop and create the run's PostgreSQL database (never another one)."""
    parsed = make_url(url)
    name = parsed.database
    admin = (f"host={parsed.host or '127.0.0.1'} port={parsed.port or 5432} "
             f"user={parsed.username or 'postgres'} dbname=postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flask(env: dict[str, str], *args: str) -> None:
    """Run a flask command of the app, failing the run when it fails."""
    subprocess.run([sys.executable, "-m", "flask", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def prepare(env: dict[str, str]) -> str:
    """Migrate and seed the run's database; return the shop's API key."""
    recreate_database(env["DATABASE_URL"])
    flask(env, "db", "upgrade")
    flask(env, "seed-demo", "--orders", "0")
    return _configure(env)


def _configure(env: dict[str, str]) -> str:
    """Settings the run relies on, set through the app's own code in this process."""
    from app import create_app
    from extensions import db
    from models import Actor, Channel
    from models.intake.api_keys import issue_key

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "REDIS_URL": env["REDIS_URL"]})
    with app.app_context():
        channel = db.session.query(Channel).filter_by(code=API_CHANNEL).one()
        # Dropship lines of the shop's orders go to the supplier as soon as confirmed.
        channel.dropship_process = "always"
        _key, token = issue_key(channel, KEY_NAME, Actor.system("chaos"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    from bench.agents import top_up_stock

    top_up_stock(env["DATABASE_URL"])
    return token
