"""What the call screen's live region says after an outcome, for screen-reader users."""

from flask_babel import gettext as _

from models.status import Confirmation

# One whole sentence per outcome: French and Arabic agree the words with "order".
_RECORDED = {
    Confirmation.CONFIRMED.value: lambda ref: _("Order %(ref)s confirmed.", ref=ref),
    Confirmation.NO_ANSWER.value: lambda ref: _("Order %(ref)s: no answer recorded.", ref=ref),
    Confirmation.CALL_LATER.value: lambda ref: _("Order %(ref)s will be called back later.",
                                                 ref=ref),
    Confirmation.CANCELED.value: lambda ref: _("Order %(ref)s canceled.", ref=ref),
    Confirmation.FAKE.value: lambda ref: _("Order %(ref)s marked as fake.", ref=ref),
}


def recorded_sentence(order_id: int, outcome: str, next_id: int | None) -> str:
    """'Order #158 confirmed. Next: Order #189.' (or '… No more orders to call.')."""
    said = _RECORDED.get(outcome, _RECORDED[Confirmation.NO_ANSWER.value])(_ref(order_id))
    if next_id is None:
        return " ".join((said, _("No more orders to call.")))
    return " ".join((said, _("Next: Order %(ref)s.", ref=_ref(next_id))))


def _ref(order_id: int) -> str:
    """The order number as people quote it: #158."""
    return "#" + str(order_id)
