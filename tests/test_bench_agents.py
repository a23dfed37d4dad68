"""The agent_action bench's one 409: a new run's first Next call shows the card an earlier
run's last outcome (still being served) is about to close; that card's outcome is stale."""

from bench import agents
from tests.blueprints.test_calls import card_order, error_box, idle, next_call, record, reload


def test_a_stale_card_from_a_run_boundary_is_refused_whole_and_the_next_call_carries_on(
        login, make_order, make_user):
    agent = make_user(role="agent")
    first, second = make_order(), make_order()
    ending_run = login(agent)  # the warm-up's connection, its last outcome in flight
    card = next_call(ending_run)
    assert card_order(card) == first.id
    # The measured run's first request for the same agent is read before that outcome
    # commits: it is shown the order the agent still holds.
    starting_run = login(agent)
    stale = next_call(starting_run)
    assert card_order(stale) == first.id
    assert card_order(record(ending_run, card, "no_answer")) == second.id

    refused = record(starting_run, stale, "confirmed")
    assert refused.status_code == 409
    assert "changed by someone else" in error_box(refused)[1]
    assert idle(refused)
    stored = reload(first.id)
    assert (stored.confirmation_status, stored.attempts) == ("no_answer", 1)
    # The agent goes on with the call the outcome brought.
    assert card_order(next_call(starting_run)) == second.id


def test_conflicts_are_read_from_the_agent_scripts_tally():
    output = "Requests/sec: 120.5\nbench-status non2xx=0 codes=\nbench-agents conflicts=1\n"
    assert agents.conflicts(output) == 1
    assert agents.conflicts("Requests/sec: 120.5\n") == 0
