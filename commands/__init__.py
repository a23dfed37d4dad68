"""Flask CLI commands: create-user, seed-demo, check-counters and rotate-secrets."""

import click
from flask import Flask
from sqlalchemy import select

from extensions import db
from models import User
from models.passwords import password_problem
from models.status import Role

from .check import check_command
from .counters import check_counters_command
from .secrets import rotate_secrets_command


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI."""
    app.cli.add_command(create_user)
    app.cli.add_command(seed_demo)
    app.cli.add_command(check_command)
    app.cli.add_command(check_counters_command)
    app.cli.add_command(rotate_secrets_command)


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default="", help="Name shown in the interface.")
@click.password_option(help="Asked for twice when not given.")
def create_user(username: str, role: str, name: str, password: str) -> None:
    """Create a user who can log in."""
    if db.session.execute(select(User).filter_by(username=username)).scalar_one_or_none():
        raise click.ClickException(f"user {username!r} already exists")
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
    user = User(username=username, name=name, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {role} {username}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
@click.option("--orders", default=300, show_default=True, help="How many demo orders.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
def seed_demo(if_empty: bool, orders: int, seed: int) -> None:
    """Fill the database with demo users, stock, carriers, channels and orders."""
    from .demo import seed as seed_demo_data

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("demo data: database already has users, left as it is")
        return
    summary = seed_demo_data(orders=orders, seed=seed)
    db.session.commit()
    click.echo("demo data: " + ", ".join(f"{n} {what}" for what, n in summary.items()))
