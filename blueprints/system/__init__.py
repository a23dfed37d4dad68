"""Health check for load balancers and `make run`."""

from flask import Blueprint, jsonify
from rq import Worker
from sqlalchemy import text

from extensions import db
from workers import redis_connection

bp = Blueprint("system", __name__)


@bp.get("/healthz")
def healthz():
    """Report database, Redis and worker count; 503 unless db and Redis answer."""
    status = {"db": "ok", "redis": "ok", "workers": 0}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not healthy", not a 500
        db.session.rollback()
        status["db"] = "error"
    try:
        conn = redis_connection()
        conn.ping()
        status["workers"] = Worker.count(connection=conn)
    except Exception:  # Redis down or unreachable
        status["redis"] = "error"
    healthy = status["db"] == "ok" and status["redis"] == "ok"
    return jsonify(status), 200 if healthy else 503
