"""`flask check-counters`: recount the counter tables from the orders and report differences."""

import click

from extensions import db
from models.boards.check import rebuild_call_times
from models.boards.rollups import TABLES as ROLLUP_TABLES
from models.boards.rollups import rebuild as rebuild_rollups
from models.orders.agent_days import rebuild_agent_days
from models.orders.counter_check import check_counters
from models.orders.counters import rebuild_counts

ROLLUPS = frozenset(ROLLUP_TABLES)


@click.command("check-counters")
@click.option("--fix", is_flag=True,
              help="Rewrite the counters that differ from the recount.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Check agents' days from this day on (default: every day).")
def check_counters_command(fix: bool, since) -> None:
    """Compare every counter with a recount; exit 1 when any differs (after fixing, 0)."""
    since = since.date() if since else None
    differences = check_counters(since)
    if not differences:
        click.echo("counters match")
        return
    for difference in differences:
        click.echo(str(difference))
    if not fix:
        raise SystemExit(1)
    rebuild_differing(differences, since)
    db.session.commit()
    left = check_counters(since)
    if left:
        for difference in left:
            click.echo(f"still differs: {difference}")
        raise SystemExit(1)
    click.echo(f"fixed {len(differences)} difference(s); counters match")


def rebuild_differing(differences, since=None) -> None:
    """Rebuild the counter tables these differences name from the data they count."""
    tables = {d.table for d in differences}
    if "order_status_counts" in tables:
        rebuild_counts()
    if "agent_day_counts" in tables:
        rebuild_agent_days(min(d.key[1] for d in differences
                               if d.table == "agent_day_counts"))
    if tables & ROLLUPS:
        rebuild_rollups()
    if "agent_call_counts" in tables:
        rebuild_call_times(since)
