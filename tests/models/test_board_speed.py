"""Speed to lead on the real database: orders arrive, agents call them through the call
screen's door, and the tile reads the rollups those calls leave."""

from datetime import timedelta

from flask import render_template

from extensions import db
from models import Actor, CallSettings, utcnow
from models.boards.period import Period, Slice, today
from models.boards.speed import Speed, speed_to_lead
from models.calls.outcome import record_outcome
from models.calls.queue import claim_next

SETTINGS = CallSettings()
EVERYTHING = Slice()


def recent() -> Period:
    """Yesterday and today: orders a few minutes old fall in it even just after midnight."""
    return Period(today() - timedelta(days=1), today())


def arrive(make_order, minutes_ago: float, **overrides):
    """An order that arrived this long ago (half a minute more, so the whole minutes hold)."""
    return make_order(created_at=utcnow() - timedelta(minutes=minutes_ago, seconds=30),
                      **overrides)


def first_call(agent, outcome: str = "no_answer") -> int:
    """The agent takes the next card and records an outcome on it."""
    actor = Actor.of(agent)
    card = claim_next(actor, SETTINGS)
    record_outcome(card.id, outcome, actor, SETTINGS, note="test")
    db.session.commit()
    return card.id


def lead_called_after(make_order, agent, minutes: float, **overrides) -> int:
    """One order that waited `minutes` for its first call."""
    order = arrive(make_order, minutes, **overrides)
    assert first_call(agent) == order.id
    return order.id


def test_no_leads_gives_nothing_to_divide(app):
    speed = speed_to_lead(recent(), EVERYTHING)
    assert speed == Speed(leads=0, called=0, median_minutes=None, median_width=None,
                          within_15=0, share=None)
    assert speed.not_called == 0 and speed.median_label is None


def test_leads_nobody_called_have_no_median(make_order):
    make_order(), make_order()
    speed = speed_to_lead(recent(), EVERYTHING)
    assert (speed.leads, speed.called, speed.not_called) == (2, 0, 2)
    assert speed.median_minutes is None and speed.median_label is None
    assert speed.share == 0


def test_one_call(make_order, make_user):
    lead_called_after(make_order, make_user("agent"), 12)
    speed = speed_to_lead(recent(), EVERYTHING)
    assert (speed.leads, speed.called, speed.not_called) == (1, 1, 0)
    assert (speed.median_minutes, speed.median_width) == (12, 1)
    assert speed.median_label == "12–13 min"
    assert (speed.within_15, speed.share) == (1, 1.0)


def test_odd_count_median_is_the_middle_call(make_order, make_user):
    agent = make_user("agent")
    for minutes in (40, 3, 7):
        lead_called_after(make_order, agent, minutes)
    arrive(make_order, 1)  # not called yet
    speed = speed_to_lead(recent(), EVERYTHING)
    assert (speed.leads, speed.called, speed.not_called) == (4, 3, 1)
    assert speed.median_label == "7–8 min"
    assert speed.within_15 == 2
    assert speed.share == 0.5  # 2 of the 4 leads, the uncalled one included


def test_even_count_median_is_the_lower_middle(make_order, make_user):
    agent = make_user("agent")
    for minutes in (2, 9, 30, 50):
        lead_called_after(make_order, agent, minutes)
    speed = speed_to_lead(recent(), EVERYTHING)
    assert speed.median_minutes == 9  # the running count reaches half (2 of 4) at 9
    assert speed.within_15 == 2 and speed.share == 0.5


def test_a_call_after_exactly_15_minutes_is_not_within_15(make_order, make_user):
    agent = make_user("agent")
    lead_called_after(make_order, agent, 14)
    lead_called_after(make_order, agent, 15)
    speed = speed_to_lead(recent(), EVERYTHING)
    assert speed.within_15 == 1
    assert speed.share == 0.5
    assert speed.median_label == "14–15 min"


def test_wider_buckets_past_the_first_hour(make_order, make_user):
    agent = make_user("agent")
    lead_called_after(make_order, agent, 100)  # quarter-hour buckets below 4 hours
    assert speed_to_lead(recent(), EVERYTHING).median_label == "90–105 min"


def test_the_period_counts_orders_by_arrival_day(make_order, make_user):
    agent = make_user("agent")
    lead_called_after(make_order, agent, 2 * 24 * 60)  # arrived two days ago, called now
    two_days_ago = today() - timedelta(days=2)
    this_day = speed_to_lead(Period(today(), today()), EVERYTHING)
    assert (this_day.leads, this_day.called, this_day.share) == (0, 0, None)
    then = speed_to_lead(Period(two_days_ago, two_days_ago), EVERYTHING)
    assert (then.leads, then.called, then.within_15) == (1, 1, 0)
    assert then.median_label == "2–3 days"


def test_a_slice_counts_only_its_orders(make_order, make_user, make_channel):
    agent = make_user("agent")
    shop, other = make_channel(), make_channel()
    lead_called_after(make_order, agent, 5, channel=shop)
    lead_called_after(make_order, agent, 25, channel=other)
    arrive(make_order, 1, channel=other)
    mine = speed_to_lead(recent(), Slice("channel", str(shop.id)))
    assert (mine.leads, mine.called, mine.median_minutes, mine.share) == (1, 1, 5, 1.0)
    theirs = speed_to_lead(recent(), Slice("channel", str(other.id)))
    assert (theirs.leads, theirs.called, theirs.median_minutes, theirs.share) == (2, 1, 25, 0)
    everyone = speed_to_lead(recent(), EVERYTHING)
    assert (everyone.leads, everyone.called) == (3, 2)


def render(speed: Speed) -> str:
    return render_template("boards/_speed.html", speed=speed)


def test_tile_shows_median_share_and_formula(app, make_order, make_user):
    agent = make_user("agent")
    for minutes in (4, 20):
        lead_called_after(make_order, agent, minutes)
    arrive(make_order, 1)
    with app.test_request_context():
        html = render(speed_to_lead(recent(), EVERYTHING))
    assert "Speed to lead" in html
    assert "4–5 min" in html
    assert "33% called within 15 minutes" in html
    assert "3 leads, 2 called, 1 not called yet" in html
    assert "median time from arrival to first call" in html.lower()
    assert "share of the period's leads" in html


def test_tile_shows_dashes_when_there_is_nothing_to_measure(app):
    with app.test_request_context():
        html = render(speed_to_lead(recent(), EVERYTHING))
    assert "<b data-median>—</b>" in html
    assert "— called within 15 minutes" in html
