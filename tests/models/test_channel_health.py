"""A channel's health mark and its forwarding summary, as the channel list shows them."""

from datetime import datetime, timedelta

import pytest

from models import Channel
from models.intake.channels import channel_health, forwarding_summary

NOW = datetime(2026, 3, 14, 12, 0)


def channel(**columns) -> Channel:
    """A channel row as stored (not saved: health reads only its columns)."""
    return Channel(**{"name": "Souk", "code": "souk", "kind": "shopify",
                      "poll_interval_minutes": 5, "forwarding": "always",
                      "forward_when": "committed", "confirm_by": "agent", **columns})


def test_health_failing_after_two_poll_intervals():
    """A failure older than two intervals is red "failing", dated from its start."""
    started = NOW - timedelta(minutes=10, seconds=1)
    health = channel_health(channel(failing_since=started, last_sync_at=NOW), NOW, True)
    assert (health.state, health.label, health.colour, health.since) == (
        "failing", "failing", "red", started)


def test_health_fresh_failure_is_an_error_not_failing():
    """Within two intervals a failure may be a blip the next poll fixes: amber "error"."""
    health = channel_health(channel(failing_since=NOW - timedelta(minutes=9, seconds=59),
                                    last_sync_at=NOW), NOW, True)
    assert (health.state, health.label, health.colour) == ("error", "error", "amber")


def test_health_grace_follows_the_poll_interval():
    """Half an hour of failures on an hourly channel is still only one missed poll."""
    hourly = channel(poll_interval_minutes=60, failing_since=NOW - timedelta(minutes=30))
    assert channel_health(hourly, NOW, True).state == "error"
    hourly.failing_since = NOW - timedelta(minutes=121)
    assert channel_health(hourly, NOW, True).state == "failing"


def test_health_never_synced_and_ok():
    """A polled channel that never synced says so; one that synced without failing is ok."""
    never = channel_health(channel(), NOW, True)
    assert (never.state, never.label, never.colour) == ("never", "never synced", "")
    assert channel_health(channel(last_sync_at=NOW - timedelta(hours=3)), NOW, True).state == "ok"


@pytest.mark.parametrize("kind", ["manual", "csv", "api"])
def test_health_channels_people_feed_show_nothing(kind):
    """Nothing is polled for manual, CSV and API channels, so there is no mark at all."""
    fed = channel(kind=kind, failing_since=NOW - timedelta(days=1))
    health = channel_health(fed, NOW, False)
    assert (health.state, health.label, health.colour) == ("", "", "")


@pytest.mark.parametrize(("columns", "summary"), [
    ({}, "Always · when committed · call center"),
    ({"forwarding": "managed", "forward_when": "paid", "confirm_by": "system"},
     "Managed products only · when paid · confirmed by the system"),
    ({"forwarding": "off", "forward_when": "paid"}, "Off (manual) · call center"),
])
def test_forwarding_summary(columns, summary):
    """The forwarding settings in one line; "when" is left out when nothing goes on alone."""
    assert forwarding_summary(channel(**columns)) == summary
