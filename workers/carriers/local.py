"""Local delivery: the shop's own drivers, no API. The operator sets every status by hand
under the same table (the order's delivery mode is local), so this adapter has nothing
to call and says so."""

from .base import CarrierAdapter


class LocalCarrier(CarrierAdapter):
    """No registration, no tracking, no webhooks: every call says it is not supported."""

    kind = "local"
    settings_fields = ()
