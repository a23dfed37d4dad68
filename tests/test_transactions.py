"""How a request's transaction ends: reads commit, anything that wrote without a commit
rolls back."""

from sqlalchemy import event, insert, select

from extensions import db
from models import Setting


def test_writes_left_uncommitted_are_rolled_back(app):
    with app.app_context():
        db.session.execute(insert(Setting.__table__), {"key": "stray", "value": "1"})
    with app.app_context():
        assert db.session.get(Setting, "stray") is None


def test_a_request_that_only_read_ends_with_commit(app):
    """A commit, not a rollback: psycopg forgets its prepared statements on rollback."""
    ends = []
    event.listen(db.engine, "commit", lambda conn: ends.append("commit"))
    event.listen(db.engine, "rollback", lambda conn: ends.append("rollback"))
    with app.app_context():
        db.session.execute(select(Setting)).all()
    assert ends == ["commit"]
    ends.clear()
    with app.app_context():
        db.session.execute(select(Setting)).all()
        db.session.execute(insert(Setting.__table__), {"key": "stray", "value": "1"})
    assert ends == ["rollback"]
