"""Checks a manager starts from the carrier settings page: "Test connection".

The web never calls a carrier: the page enqueues this job and polls its result.
"""

import logging
import re
import uuid

from flask_babel import force_locale
from flask_babel import gettext as _

from models.base import db
from models.catalog import Carrier
from workers import job
from workers.carriers import CarrierError, NotSupported, adapter_for
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
def test_carrier_connection(carrier_id: int, lang: str = "en") -> dict:
    """Make the adapter's one harmless call; {"ok": bool, "message": str} for the page.

    The message is written in `lang`, the language of the manager who pressed the button.
    """
    with force_locale(lang):
        return _test(carrier_id)


def _test(carrier_id: int) -> dict:
    """test_carrier_connection in the manager's language."""
    carrier = db.session.get(Carrier, carrier_id)
    if carrier is None:
        return {"ok": False, "message": _("This carrier no longer exists.")}
    name = carrier.name
    try:
        adapter = adapter_for(carrier_config(carrier))
    except KeyError:
        return {"ok": False, "message": _("%(carrier)s: unknown kind “%(kind)s”.",
                                          carrier=name, kind=carrier.kind)}
    db.session.commit()  # no transaction stays open while the carrier answers
    try:
        message = adapter.test_connection()
    except NotSupported as error:  # the adapter's own words, already in the manager's language
        return {"ok": False, "message": error.message}
    except CarrierError as error:
        # The carrier's answer is quoted as it came (as last_error stores it); the sentence
        # around it is the manager's.
        return {"ok": False, "message": _("The connection test failed: %(error)s",
                                          error=error.message)}
    except Exception as error:  # a check reports what broke; a retry would tell no more
        log.exception("Testing %s failed unexpectedly", name)
        broke = f"{error.__class__.__name__}: {error}"
        return {"ok": False, "message": _("%(carrier)s: the test broke (%(error)s).",
                                          carrier=name, error=broke)}
    return {"ok": True, "message": message}
