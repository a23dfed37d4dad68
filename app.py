"""Application factory: config, extensions, blueprints, error pages and CLI commands."""

import os

from flask import Flask

from config import INSTANCE_DIR, Config
from extensions import csrf, db, htmx, login_manager, migrate
from models.base import end_read_only_transactions


def create_app(test_config: dict | None = None) -> Flask:
    """Build a configured codboard app."""
    app = Flask(__name__, instance_path=_instance_path())
    app.config.from_object(Config)
    if test_config:
        app.config.update(test_config)

    db.init_app(app)
    from models import crypto

    crypto.init_app(app)
    end_read_only_transactions(app)
    # Absolute, so `flask db upgrade` works from any directory and from an installed copy.
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)

    from blueprints import i18n

    i18n.init_app(app)

    import workers

    workers.init_app(app)

    from blueprints import (
        api,
        auth,
        boards,
        calls,
        dropship,
        errors,
        home,
        intake,
        orders,
        security_headers,
        settings,
        shipping,
        stock,
        system,
    )

    auth.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    for module in (auth, home, calls, orders, shipping, stock, boards, settings, system, api,
                   intake, dropship):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # machine-to-machine: webhooks are signed, the API uses keys

    if app.config["SANDBOX_ENABLED"]:
        from blueprints import sandbox

        app.register_blueprint(sandbox.bp)
        csrf.exempt(sandbox.bp)  # plays another company's API

    if app.config["BENCH_ROUTES"]:
        from blueprints import bench

        app.register_blueprint(bench.bp)

    from blueprints.templating import init_app as init_templating

    init_templating(app)

    import commands

    commands.init_app(app)

    return app


def _instance_path() -> str:
    """Where the SQLite database and generated keys live (CODBOARD_INSTANCE, else instance/)."""
    return str(INSTANCE_DIR)
