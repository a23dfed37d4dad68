"""Periodic jobs for `rq cron workers.cron_config` (run exactly one such process)."""

from rq import cron

from workers.reconcile import reconcile

cron.register(reconcile, queue_name="default", cron="* * * * *", name="reconcile")
