"""Counter shards: one per transaction, and on PostgreSQL none shared by two writers, so
writers adding to the same counters in different orders never deadlock."""

import threading
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select, text

from models.boards.rollups import write
from models.boards.tables import CodCount
from models.shards import SHARDS, transaction_shard
from tests.conftest import ON_POSTGRES

needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="parallel writers need PostgreSQL (run in CI)")
DAY = date(2026, 11, 29)


def cod(status: str) -> tuple:
    """A cod_counts rollup key of carrier 7 today."""
    return ("cod_counts", 7, status, "", DAY)


def test_a_transaction_keeps_its_shard_and_the_next_one_chooses_again(app, database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            with connection.begin():
                first = transaction_shard(connection)
                assert 0 <= first < SHARDS
                assert {transaction_shard(connection) for _ in range(20)} == {first}
            shards = set()
            for _ in range(40):
                with connection.begin():
                    shards.add(transaction_shard(connection))
            assert len(shards) > 1  # 40 transactions on one shard: 1 in 8**39
    finally:
        engine.dispose()


def test_every_write_of_a_transaction_lands_in_one_shard(app, database_url):
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            for status in ("created", "fulfilled", "in_transit", "created"):
                write({cod(status): [1, 100, 0, 0]}, connection)
        with engine.connect() as connection:
            rows = connection.execute(select(CodCount.shard, func.sum(CodCount.n))
                                      .where(CodCount.carrier_id == 7)
                                      .group_by(CodCount.shard)).all()
        assert len(rows) == 1 and rows[0][1] == 4
    finally:
        engine.dispose()


@needs_postgres
def test_open_transactions_hold_different_shards(app, database_url):
    engine = create_engine(database_url, pool_size=SHARDS)
    connections = [engine.connect() for _ in range(SHARDS)]
    try:
        shards = []
        for connection in connections:
            connection.begin()
            shards.append(transaction_shard(connection))
        assert sorted(shards) == list(range(SHARDS))
    finally:
        for connection in connections:
            connection.close()
        engine.dispose()


@needs_postgres
def test_writers_adding_to_the_same_counters_in_opposite_orders_both_commit(app, database_url):
    """Each writer adds to two rows, the second after the other writer has taken its
    first: on one shard they would wait on each other (a deadlock, one aborted)."""
    engine = create_engine(database_url)
    halfway = threading.Barrier(2, timeout=10)
    errors: list[Exception] = []

    def writer(first: str, second: str) -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                write({cod(first): [1, 100, 0, 0]}, connection)
                halfway.wait()
                write({cod(second): [1, 100, 0, 0]}, connection)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    try:
        for _round in range(5):
            threads = [threading.Thread(target=writer, args=("created", "delivered")),
                       threading.Thread(target=writer, args=("delivered", "created"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert errors == []
        with engine.connect() as connection:
            totals = dict(connection.execute(
                select(CodCount.shipping_status, func.sum(CodCount.n))
                .where(CodCount.carrier_id == 7).group_by(CodCount.shipping_status)).all())
        assert totals == {"created": 10, "delivered": 10}
    finally:
        engine.dispose()
