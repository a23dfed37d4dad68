"""The counters equal a full recount after random transitions through the door, and a
counter that drifted is reported."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from extensions import db
from models import Actor, Order, utcnow
from models.errors import NotAllowed, TransitionRefused
from models.orders.agent_days import TABLE as AGENT_DAYS
from models.orders.counter_check import check_counters
from models.orders.counters import OrderStatusCount, status_counts
from models.orders.operations import change_confirmation, change_shipping
from models.status import Confirmation, Party, Shipping, confirmation_parties, shipping_parties


@pytest.fixture
def world(make_user, make_channel, make_order):
    """Two channels with orders of both delivery modes, and one actor per party."""
    agents = [make_user("agent"), make_user("agent")]
    manager, operator = make_user("manager"), make_user("operator")
    channels = [make_channel(), make_channel()]
    orders = [make_order(channel=channels[i % 2], delivery_mode=("carrier", "local")[i % 3 == 0])
              for i in range(8)]
    actors = {Party.MANAGER: Actor.of(manager), Party.OPERATOR: Actor.of(operator),
              Party.CARRIER: Actor.carrier("test"), Party.SYSTEM: Actor.system("test")}
    return agents, actors, [o.id for o in orders]


def _step(rng: random.Random, agents, actors, order: Order) -> None:
    """One random move the tables allow, made by a party allowed to make it."""
    if order.shipping_status and rng.random() < 0.7:
        moves = [(s.value, p) for s in Shipping
                 for p in shipping_parties(order.shipping_status, s, order.delivery_mode)
                 if p in actors]  # a supplier's own hand-over is the dropship door's
        if moves:
            dst, party = rng.choice(sorted(moves))
            change_shipping(order, dst, actors[party])
        return
    moves = [(c.value, p) for c in Confirmation
             for p in confirmation_parties(order.confirmation_status, c)
             if p in actors or p == Party.AGENT]  # a channel's cancel is the intake door's
    if not moves:
        return
    dst, party = rng.choice(sorted(moves))
    actor = actors.get(party)
    if party == Party.AGENT:
        agent = rng.choice(agents)
        order.claimed_by_id = agent.id  # the agent holds the order while calling
        actor = Actor.of(agent)
    change_confirmation(order, dst, actor, note="test",
                        callback_at=utcnow() + timedelta(hours=1))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counters_equal_recount_after_random_transitions(world, seed):
    agents, actors, order_ids = world
    rng = random.Random(seed)
    moves = 0
    for _ in range(120):
        order = db.session.get(Order, rng.choice(order_ids))
        before = (order.confirmation_status, order.shipping_status)
        try:
            _step(rng, agents, actors, order)
            db.session.commit()
        except (TransitionRefused, NotAllowed):
            db.session.rollback()
        moves += (order.confirmation_status, order.shipping_status) != before
    assert moves > 20  # the walk really moved orders around
    assert check_counters() == []
    assert status_counts()["total"] == len(order_ids)


def test_drifted_status_counter_is_reported(world):
    _, _, order_ids = world
    order = db.session.get(Order, order_ids[0])
    shard = db.session.scalars(select(OrderStatusCount)
                               .where(OrderStatusCount.channel_id == order.channel_id)).first()
    shard.n += 3  # one shard drifted
    db.session.commit()
    [difference] = check_counters()
    assert difference.table == "order_status_counts"
    assert difference.key == (order.channel_id, "new", "")
    assert (difference.counted, difference.stored) == (4, 7)


def test_drifted_agent_day_is_reported(world):
    agents, _, order_ids = world
    order = db.session.get(Order, order_ids[1])
    order.claimed_by_id = agents[0].id
    change_confirmation(order, "confirmed", Actor.of(agents[0]))
    db.session.commit()
    assert check_counters() == []
    db.session.execute(update(AGENT_DAYS).values(calls=5))
    db.session.commit()
    [difference] = check_counters()
    assert difference.table == "agent_day_counts"
    assert difference.key[0] == agents[0].id and difference.key[2] == "calls"
    assert (difference.counted, difference.stored) == (1, 5)
