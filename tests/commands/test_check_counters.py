"""`flask check-counters`: what it prints, its exit code, and --fix; the daily job's log."""

import logging

from sqlalchemy import select, update

from extensions import db
from models import Actor, utcnow
from models.orders.agent_days import TABLE as AGENT_DAYS
from models.orders.counters import OrderStatusCount
from models.orders.operations import change_confirmation
from workers.counters import check_counters_daily


def _drift(order) -> None:
    """Add 2 to one shard of the order's counter, as a lost update would."""
    shard = db.session.scalars(select(OrderStatusCount)
                               .where(OrderStatusCount.channel_id == order.channel_id)).first()
    shard.n += 2
    db.session.commit()


def test_check_counters_says_match_and_exits_0(runner, make_order):
    make_order()
    result = runner.invoke(args=["check-counters"])
    assert result.exit_code == 0
    assert result.output.strip() == "counters match"


def test_check_counters_reports_difference_and_exits_1(runner, make_order):
    order = make_order()
    _drift(order)
    result = runner.invoke(args=["check-counters"])
    assert result.exit_code == 1
    assert f"order_status_counts ({order.channel_id}, new, —): counted 1, stored 3" \
        in result.output
    assert "counters match" not in result.output


def test_check_counters_fix_repairs_status_counts(runner, make_order):
    order = make_order()
    make_order(channel=order.channel)
    _drift(order)
    result = runner.invoke(args=["check-counters", "--fix"])
    assert result.exit_code == 0, result.output
    assert "counted 2, stored 4" in result.output
    assert "counters match" in result.output
    stored = db.session.scalar(select(db.func.sum(OrderStatusCount.n))
                               .where(OrderStatusCount.channel_id == order.channel_id))
    assert stored == 2
    again = runner.invoke(args=["check-counters"])
    assert (again.exit_code, again.output.strip()) == (0, "counters match")


def test_check_counters_fix_repairs_agent_days(runner, make_order, make_user):
    agent = make_user("agent")
    order = make_order(claimed_by_id=agent.id)
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    db.session.execute(update(AGENT_DAYS).values(confirmed=0, streak=0))
    db.session.commit()
    first = runner.invoke(args=["check-counters"])
    assert first.exit_code == 1
    assert "confirmed): counted 1, stored 0" in first.output
    assert runner.invoke(args=["check-counters", "--fix"]).exit_code == 0
    assert db.session.execute(select(AGENT_DAYS.c.calls, AGENT_DAYS.c.confirmed,
                                     AGENT_DAYS.c.streak)).one() == (1, 1, 1)


def test_daily_job_logs_differences(app, make_order, caplog, monkeypatch):
    # The migrations' logging setup disables loggers that existed before it ran.
    monkeypatch.setattr(logging.getLogger("workers.counters"), "disabled", False)
    order = make_order()
    assert check_counters_daily() == []
    _drift(order)
    with caplog.at_level(logging.WARNING, logger="workers.counters"):
        differences = check_counters_daily()
    assert differences == [f"order_status_counts ({order.channel_id}, new, —): "
                           "counted 1, stored 3"]
    assert differences[0] in caplog.text


def test_check_counters_since_skips_older_agent_days(runner, make_order, make_user):
    agent = make_user("agent")
    order = make_order(claimed_by_id=agent.id)
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    db.session.execute(update(AGENT_DAYS).values(calls=9))
    db.session.commit()
    assert runner.invoke(args=["check-counters", "--since", "2999-01-01"]).exit_code == 0
    assert runner.invoke(args=["check-counters", "--since", "2000-01-01"]).exit_code == 1
    bad = runner.invoke(args=["check-counters", "--since", "yesterday"])
    assert bad.exit_code == 2 and "yesterday" in bad.output


def test_check_counters_fix_repairs_board_rollups_and_call_times(runner, make_order,
                                                                  make_user):
    from models.boards.tables import AgentCallCount, CodCount, OrderDayCount

    agent = make_user("agent")
    order = make_order(claimed_by_id=agent.id, claimed_at=utcnow(), city="Rabat")
    change_confirmation(order, "confirmed", Actor.of(agent))
    db.session.commit()
    db.session.execute(update(OrderDayCount).where(OrderDayCount.dim == "city")
                       .values(n=OrderDayCount.n + 5))
    db.session.execute(CodCount.__table__.delete())
    db.session.execute(AgentCallCount.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["check-counters"])
    assert result.exit_code == 1
    assert "order_day_counts (city, Rabat, " in result.output
    assert "counted 1, stored 6" in result.output
    assert "cod_counts (" in result.output and "agent_call_counts (" in result.output
    fixed = runner.invoke(args=["check-counters", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert "counters match" in fixed.output
    again = runner.invoke(args=["check-counters"])
    assert (again.exit_code, again.output.strip()) == (0, "counters match")
