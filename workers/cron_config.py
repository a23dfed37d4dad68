"""Periodic jobs for `rq cron workers.cron_config` (run exactly one such process)."""

import os

from rq import cron

from workers.channels.jobs import push_all_news, sync_due_channels
from workers.counters import check_counters_daily
from workers.reconcile import reconcile
from workers.shipping import sync_all_carriers
from workers.suppliers.jobs import sync_due_suppliers

cron.register(reconcile, queue_name="default", cron="* * * * *", name="reconcile")
# Counters against a recount of the orders, once a day while the shops are quiet.
cron.register(check_counters_daily, queue_name="default", cron="17 3 * * *",
              name="check-counters")
# Every 5 minutes by default; `make run` asks more often so the demo's parcels visibly move.
cron.register(sync_all_carriers, queue_name="carriers",
              interval=int(os.environ.get("CARRIER_SYNC_SECONDS", "300")), name="carrier-sync")

# Each channel is polled on its own interval: this looks every minute which are due.
cron.register(sync_due_channels, queue_name="channels", cron="* * * * *", name="channel-sync")
# Dropship suppliers: queued submissions, cancellations, and asking about open orders.
cron.register(sync_due_suppliers, queue_name="suppliers", cron="* * * * *",
              name="supplier-sync")
# Shipping news to channels, retried until they take it.
cron.register(push_all_news, queue_name="channels",
              interval=int(os.environ.get("CHANNEL_NEWS_SECONDS", "300")), name="channel-news")

if os.environ.get("SANDBOX_ENABLED", "").lower() in {"1", "true", "yes", "on"}:
    # The sandbox carrier pushes its parcels' news as a real carrier's webhooks would.
    from workers.sandbox_jobs import push_sandbox_webhooks

    cron.register(push_sandbox_webhooks, queue_name="default",
                  interval=int(os.environ.get("SANDBOX_PUSH_SECONDS", "10")),
                  name="sandbox-webhooks")
    # The sandbox marketplace places a few orders now and then, so the call queue fills.
    from workers.sandbox_jobs import produce_sandbox_orders

    cron.register(produce_sandbox_orders, queue_name="default",
                  interval=int(os.environ.get("SANDBOX_ORDER_SECONDS", "60")),
                  name="sandbox-orders")
