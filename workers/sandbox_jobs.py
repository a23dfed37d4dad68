"""Jobs of the built-in sandbox carrier: it pushes its webhooks like a real courier."""

from flask import current_app

from blueprints.sandbox.journeys import push_due_webhooks

from . import job


@job("default")
def push_sandbox_webhooks() -> int:
    """POST the sandbox parcels' newly visible events to their callback URLs; returns POSTs."""
    if not current_app.config["SANDBOX_ENABLED"]:
        return 0  # no sandbox carrier in this instance: nothing of its own to push
    return push_due_webhooks()
