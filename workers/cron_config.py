"""Periodic jobs for `rq cron workers.cron_config` (run exactly one such process)."""

import os

from rq import cron

from workers.reconcile import reconcile
from workers.shipping import sync_all_carriers

cron.register(reconcile, queue_name="default", cron="* * * * *", name="reconcile")
# Every 5 minutes by default; `make run` asks more often so the demo's parcels visibly move.
cron.register(sync_all_carriers, queue_name="carriers",
              interval=int(os.environ.get("CARRIER_SYNC_SECONDS", "300")), name="carrier-sync")

if os.environ.get("SANDBOX_ENABLED", "").lower() in {"1", "true", "yes", "on"}:
    # The sandbox carrier pushes its parcels' news as a real carrier's webhooks would.
    from workers.sandbox_jobs import push_sandbox_webhooks

    cron.register(push_sandbox_webhooks, queue_name="default",
                  interval=int(os.environ.get("SANDBOX_PUSH_SECONDS", "10")),
                  name="sandbox-webhooks")
