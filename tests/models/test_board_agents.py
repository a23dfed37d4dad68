"""The agents table on the real database: agents take cards and record outcomes through
the call screen's door, parcels move through the shipping door, and the table reads the
rollups those moves leave."""

from datetime import timedelta

from flask import render_template
from sqlalchemy import insert, update

from extensions import db
from models import Actor, AgentCallCount, AgentDayCount, CallSettings, Order, utcnow
from models.boards.agents import AgentRow, agent_rows
from models.boards.period import Period, today
from models.calls.outcome import record_outcome
from models.calls.queue import claim_next
from models.orders.operations import change_shipping

SETTINGS = CallSettings()
WAREHOUSE = ("fulfilled", "returned")  # the operator's moves; the carrier scans the rest


def this_day() -> Period:
    return Period.named("today", today())


def call(agent, outcome: str, seconds: int = 30) -> int:
    """The agent takes the next card, talks for `seconds`, and records the outcome."""
    actor = Actor.of(agent)
    card = claim_next(actor, SETTINGS)
    # The card was taken `seconds` ago: the time per call is measured from the claim.
    db.session.execute(update(Order).where(Order.id == card.id)
                       .values(claimed_at=utcnow() - timedelta(seconds=seconds)))
    record_outcome(card.id, outcome, actor, SETTINGS, note="test")
    db.session.commit()
    return card.id


def called(make_order, agent, outcome: str, seconds: int = 30) -> int:
    """A new order, called at once."""
    order = make_order()
    assert call(agent, outcome, seconds) == order.id
    return order.id


def ship(order_id: int, operator, *statuses: str) -> None:
    """Move a confirmed order's parcel as the warehouse and the carrier would."""
    order = db.session.get(Order, order_id)
    warehouse, carrier = Actor.of(operator), Actor.carrier("sandbox")
    for status in statuses:
        change_shipping(order, status, warehouse if status in WAREHOUSE else carrier)
    db.session.commit()


def by_name(rows: list[AgentRow]) -> dict[str, AgentRow]:
    return {row.name: row for row in rows}


def test_no_agents_no_rows(app, make_user):
    make_user("manager")
    assert agent_rows(this_day()) == []


def test_an_agent_without_calls_has_zeros_and_no_rates(make_user):
    agent = make_user("agent", name="Amina")
    assert agent_rows(this_day()) == [AgentRow(agent.id, "Amina")]


def test_one_call(make_order, make_user):
    agent = make_user("agent", name="Amina")
    called(make_order, agent, "confirmed", seconds=47)
    [row] = agent_rows(this_day())
    assert (row.calls, row.confirmed, row.confirmation_rate) == (1, 1, 1.0)
    assert row.seconds_per_call == 45 and row.time_per_call == "45 s"
    assert row.delivery_rate is None  # nothing delivered or returned yet


def test_figures_rates_and_order(make_order, make_user):
    amina = make_user("agent", name="Amina")
    badr = make_user("agent", name="Badr")
    idle = make_user("agent", name="Chama")
    # Amina: two confirmed, one canceled, one fake; odd count of call times.
    first = called(make_order, amina, "confirmed", seconds=47)
    second = called(make_order, amina, "confirmed", seconds=122)
    called(make_order, amina, "canceled", seconds=302)
    called(make_order, amina, "fake", seconds=8)
    called(make_order, amina, "no_answer", seconds=185)
    # Badr: one confirmed, one still ringing; even count of call times.
    third = called(make_order, badr, "confirmed", seconds=47)
    called(make_order, badr, "no_answer", seconds=122)
    operator = make_user("operator")
    ship(first, operator, "fulfilled", "shipped", "delivered")
    ship(second, operator, "fulfilled", "shipped", "in_return")
    ship(third, operator, "fulfilled", "shipped")

    rows = agent_rows(this_day())
    assert [r.name for r in rows] == ["Amina", "Badr", "Chama"]
    a, b, c = rows
    assert (a.id, a.calls, a.confirmed) == (amina.id, 5, 2)
    assert a.confirmation_rate == 2 / 4  # no answer is not decided yet
    assert a.seconds_per_call == 120  # median of 5, 45, 120, 180, 300
    assert a.time_per_call == "2 min"
    assert a.delivery_rate == 1 / 2  # delivered ÷ (delivered + in return)
    assert (b.calls, b.confirmed, b.confirmation_rate) == (2, 1, 1.0)
    assert b.seconds_per_call == 45  # even count: the lower middle
    assert b.delivery_rate is None  # shipped, not settled
    assert c == AgentRow(idle.id, "Chama")


def test_returned_parcels_count_against_delivery(make_order, make_user):
    agent = make_user("agent", name="Amina")
    delivered = called(make_order, agent, "confirmed")
    returned = called(make_order, agent, "confirmed")
    operator = make_user("operator")
    ship(delivered, operator, "fulfilled", "shipped", "delivered")
    ship(returned, operator, "fulfilled", "shipped", "in_return", "returned")
    [row] = agent_rows(this_day())
    assert row.delivery_rate == 0.5


def test_the_last_agent_to_call_owns_the_order(make_order, make_user):
    amina = make_user("agent", name="Amina")
    badr = make_user("agent", name="Badr")
    order_id = called(make_order, amina, "no_answer")
    db.session.execute(update(Order).where(Order.id == order_id)
                       .values(last_attempt_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert call(badr, "confirmed") == order_id
    a, b = sorted(agent_rows(this_day()), key=lambda r: r.name)
    assert (a.calls, a.confirmed, a.confirmation_rate) == (1, 0, None)
    assert (b.calls, b.confirmed, b.confirmation_rate) == (1, 1, 1.0)


def test_ties_sort_by_name(make_order, make_user):
    zineb = make_user("agent", name="Zineb")
    amina = make_user("agent", name="amina")
    called(make_order, zineb, "confirmed")
    called(make_order, amina, "confirmed")
    assert [r.name for r in agent_rows(this_day())] == ["amina", "Zineb"]


def _yesterday_figures(agent_id: int) -> None:
    """Calls an agent made yesterday (the door writes today's rows, so they are put in)."""
    yesterday = today() - timedelta(days=1)
    db.session.execute(insert(AgentDayCount.__table__).values(
        agent_id=agent_id, day=yesterday, calls=7, confirmed=4, streak=0))
    db.session.execute(insert(AgentCallCount.__table__).values(
        agent_id=agent_id, day=yesterday, seconds=600, n=7))
    db.session.commit()


def test_a_period_excludes_yesterdays_calls(make_order, make_user):
    agent = make_user("agent", name="Amina")
    _yesterday_figures(agent.id)
    called(make_order, agent, "confirmed", seconds=47)
    [now] = agent_rows(this_day())
    assert (now.calls, now.confirmed, now.seconds_per_call) == (1, 1, 45)
    [before] = agent_rows(Period.named("yesterday", today()))
    assert (before.calls, before.confirmed, before.seconds_per_call) == (7, 4, 600)
    assert before.time_per_call == "10 min"
    assert before.confirmation_rate is None  # no order that arrived yesterday is theirs
    [both] = agent_rows(Period.named("7d", today()))
    assert (both.calls, both.confirmed, both.seconds_per_call) == (8, 5, 600)


def test_someone_no_longer_an_agent_keeps_their_row(make_order, make_user):
    agent = make_user("agent", name="Amina")
    called(make_order, agent, "confirmed")
    agent.role = "manager"
    db.session.commit()
    [row] = agent_rows(this_day())
    assert (row.id, row.calls, row.confirmed) == (agent.id, 1, 1)
    assert agent_rows(Period.named("yesterday", today())) == []


def render(rows, period) -> str:
    """The table's HTML with runs of whitespace made single spaces."""
    return " ".join(render_template("boards/_agents.html", agents=rows, period=period).split())


def test_table_links_the_rate_to_the_orders_it_is_over(app, make_order, make_user):
    agent = make_user("agent", name="Amina <b>")
    make_user("agent", name="Badr")
    called(make_order, agent, "confirmed", seconds=47)
    period = this_day()
    with app.test_request_context():
        html = render(agent_rows(period), period)
    day = period.first.isoformat()
    assert f"<caption>Agents, {day} to {day}</caption>" in html
    assert "Amina &lt;b&gt;" in html  # a name is text, never markup
    assert (f'<a href="/orders/?agent={agent.id}&amp;to={day}&amp;from={day}">100%</a>'
            in html)
    assert "<th scope=\"col\"></th>" not in html
    assert '<td class="num">45 s</td>' in html
    assert '<td class="num">—</td>' in html  # Badr's rates, and Amina's delivery rate
    assert "Confirmation rate = confirmed ÷ (confirmed + canceled + fake)" in html
    assert "time per call = from taking the card to recording the outcome (median)" in html


def test_table_empty_state(app, make_user):
    make_user("agent", name="Amina")
    period = this_day()
    with app.test_request_context():
        html = render(agent_rows(period), period)
        assert "No agent has called yet in this period." in html
        assert "<table" not in html
        assert "No agent has called yet" in render([], period)
