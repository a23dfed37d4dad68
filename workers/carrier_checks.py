"""Checks a manager starts from the carrier settings page: "Test connection".

The web never calls a carrier: the page enqueues this job and polls its result.
"""

import logging
import re
import uuid

from models.base import db
from models.catalog import Carrier
from workers import job
from workers.carriers import CarrierError, adapter_for
from workers.shipping import carrier_config

log = logging.getLogger(__name__)

JOB_PREFIX = "carrier-test"


def new_job_id(carrier_id: int) -> str:
    """A fresh, unguessable id for one test of one carrier."""
    return f"{JOB_PREFIX}-{carrier_id}-{uuid.uuid4().hex}"


def is_job_of(job_id: str, carrier_id: int) -> bool:
    """Whether an id has the shape new_job_id gives this carrier (a poll URL names no other)."""
    return re.fullmatch(rf"{JOB_PREFIX}-{carrier_id}-[0-9a-f]{{32}}", job_id or "") is not None


@job("carriers", timeout=60)
def test_carrier_connection(carrier_id: int) -> dict:
    """Make the adapter's one harmless call; {"ok": bool, "message": str} for the page."""
    carrier = db.session.get(Carrier, carrier_id)
    if carrier is None:
        return {"ok": False, "message": "This carrier no longer exists."}
    name = carrier.name
    try:
        adapter = adapter_for(carrier_config(carrier))
    except KeyError:
        return {"ok": False, "message": f"{name}: unknown kind “{carrier.kind}”."}
    db.session.commit()  # no transaction stays open while the carrier answers
    try:
        message = adapter.test_connection()
    except CarrierError as error:
        return {"ok": False, "message": error.message}
    except Exception as error:  # a check reports what broke; a retry would tell no more
        log.exception("Testing %s failed unexpectedly", name)
        return {"ok": False, "message": f"{name}: the test broke ({error.__class__.__name__}: "
                                        f"{error})."}
    return {"ok": True, "message": message}
