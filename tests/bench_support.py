"""Shared pieces of the benchmark code's own tests."""

from bench import generate


def tiny_data_set(tmp_path_factory, n: int) -> str:
    """A generated data set of n orders on SQLite, for running a scenario's code briefly."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'orders.db'}"
    generate.ensure(url, n)
    return url
