"""Start the jobs a committed change made due, and say so when the queue cannot take them.

The database already records the work (a confirmed order without a parcel, a queued
supplier order), so reconcile sends it when Redis is back; the user only hears of the delay.
"""

from flask_babel import lazy_gettext as _l

from models.status import Effect
from workers.shipping import request_registration
from workers.suppliers.jobs import request_due_processing

CARRIER_DELAYED = _l("Saved. Sending to the carrier is delayed; it will go out when the queue "
                     "is back.")
SUPPLIER_DELAYED = _l("Saved. Sending to the supplier is delayed; it will go out when the queue "
                      "is back.")


def start_due(due=(Effect.REGISTER_PARCEL, Effect.SUBMIT_TO_SUPPLIER)) -> str:
    """Nudge the jobs for the due effects (after the commit); words for any that must wait."""
    delayed = []
    if Effect.REGISTER_PARCEL in due and not request_registration():
        delayed.append(str(CARRIER_DELAYED))
    if Effect.SUBMIT_TO_SUPPLIER in due and not request_due_processing():
        delayed.append(str(SUPPLIER_DELAYED))
    return " ".join(delayed)
