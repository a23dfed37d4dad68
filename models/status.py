"""The two order status vocabularies, their transition tables and who may make each move."""

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    """What a logged-in user is for; decides their screens and their moves."""

    AGENT = "agent"
    OPERATOR = "operator"
    MANAGER = "manager"
    ADMIN = "admin"


# A role as people read it, in the screen's language.
ROLE_LABELS: dict[str, str] = {
    Role.AGENT.value: _l("agent"),
    Role.OPERATOR.value: _l("operator"),
    Role.MANAGER.value: _l("manager"),
    Role.ADMIN.value: _l("admin"),
}


class Party(StrEnum):
    """Who makes a move: a user acting in a role, the carrier sync, or the system."""

    AGENT = "agent"
    OPERATOR = "operator"
    MANAGER = "manager"
    CARRIER = "carrier"
    CHANNEL = "channel"
    SUPPLIER = "supplier"
    SYSTEM = "system"


# Which parties a user of each role may act as. Admins can do what managers can;
# managers and admins may also make the operator's moves (they drill into problem
# orders). Confirmation outcomes stay with agents, who hold the order on the phone.
ROLE_PARTIES: dict[Role, frozenset[Party]] = {
    Role.AGENT: frozenset({Party.AGENT}),
    Role.OPERATOR: frozenset({Party.OPERATOR}),
    Role.MANAGER: frozenset({Party.MANAGER, Party.OPERATOR}),
    Role.ADMIN: frozenset({Party.MANAGER, Party.OPERATOR}),
}


@dataclass(frozen=True)
class StatusInfo:
    """One status: stored value, label shown to people, and badge colour."""

    value: str
    label: str  # a lazy string: shown in the language of the request that reads it
    colour: str


class Confirmation(StrEnum):
    """Where the call center is with an order."""

    NEW = "new"
    NO_ANSWER = "no_answer"
    CALL_LATER = "call_later"
    CONFIRMED = "confirmed"
    CANCELED = "canceled"
    FAKE = "fake"


class Shipping(StrEnum):
    """Where the parcel is; empty until the order is confirmed."""

    CREATED = "created"
    FULFILLED = "fulfilled"
    SHIPPED = "shipped"
    PACKAGE_ISSUE = "package_issue"
    DELIVERED = "delivered"
    IN_RETURN = "in_return"
    RETURNED = "returned"
    CANCELED = "canceled"


class DeliveryMode(StrEnum):
    """A carrier with an API reports scans; local delivery is set by hand."""

    CARRIER = "carrier"
    LOCAL = "local"


class Effect(StrEnum):
    """Work a transition makes due; stock effects run in the same transaction."""

    TAKE_STOCK = "take_stock"
    RESTOCK = "restock"
    REGISTER_PARCEL = "register_parcel"
    PUSH_TRACKING = "push_tracking"
    SUBMIT_TO_SUPPLIER = "submit_to_supplier"


# Colours are names of the badge palette in static/css/app.css; the same
# meaning keeps the same colour on both machines (canceled is grey everywhere).
CONFIRMATION_INFO: dict[str, StatusInfo] = {
    s.value: StatusInfo(s.value, label, colour)
    for s, label, colour in [
        (Confirmation.NEW, _l("New"), "blue"),
        (Confirmation.NO_ANSWER, _l("No answer"), "amber"),
        (Confirmation.CALL_LATER, _l("Call later"), "purple"),
        (Confirmation.CONFIRMED, _l("Confirmed"), "green"),
        (Confirmation.CANCELED, _l("Canceled"), "grey"),
        (Confirmation.FAKE, _l("Fake"), "red"),
    ]
}

SHIPPING_INFO: dict[str, StatusInfo] = {
    s.value: StatusInfo(s.value, label, colour)
    for s, label, colour in [
        (Shipping.CREATED, _l("Created"), "blue"),
        (Shipping.FULFILLED, _l("Fulfilled"), "teal"),
        (Shipping.SHIPPED, _l("Shipped"), "indigo"),
        (Shipping.PACKAGE_ISSUE, _l("Package issue"), "orange"),
        (Shipping.DELIVERED, _l("Delivered"), "green"),
        (Shipping.IN_RETURN, _l("In return"), "amber"),
        (Shipping.RETURNED, _l("Returned"), "purple"),
        (Shipping.CANCELED, _l("Canceled"), "grey"),
    ]
}

_C = Confirmation
_OUTCOMES = frozenset({_C.NO_ANSWER, _C.CALL_LATER, _C.CONFIRMED, _C.CANCELED, _C.FAKE})

# (from, to) -> parties allowed. Confirmed, canceled and fake are locked for
# agents; the system cancels an unreachable order; a manager reopens with a reason.
CONFIRMATION_TRANSITIONS: dict[tuple[Confirmation, Confirmation], frozenset[Party]] = {
    **{(_C.NEW, to): frozenset({Party.AGENT}) for to in _OUTCOMES},
    **{(_C.NO_ANSWER, to): frozenset({Party.AGENT}) for to in _OUTCOMES},
    **{(_C.CALL_LATER, to): frozenset({Party.AGENT}) for to in _OUTCOMES},
    # The channel cancels an order nobody confirmed yet (the customer canceled on the shop).
    (_C.NEW, _C.CANCELED): frozenset({Party.AGENT, Party.CHANNEL}),
    (_C.NO_ANSWER, _C.CANCELED): frozenset({Party.AGENT, Party.SYSTEM, Party.CHANNEL}),
    (_C.CALL_LATER, _C.CANCELED): frozenset({Party.AGENT, Party.SYSTEM, Party.CHANNEL}),
    # A prepaid channel's order skips the call: the system confirms it on arrival.
    (_C.NEW, _C.CONFIRMED): frozenset({Party.AGENT, Party.SYSTEM}),
    (_C.CANCELED, _C.NEW): frozenset({Party.MANAGER}),
    (_C.FAKE, _C.NEW): frozenset({Party.MANAGER}),
}

LOCKED_CONFIRMATIONS = frozenset({_C.CONFIRMED, _C.CANCELED, _C.FAKE})


@dataclass(frozen=True)
class ShippingRule:
    """Who may make one shipping move, for carrier orders and for local delivery."""

    carrier: frozenset[Party]
    local: frozenset[Party]

    def parties(self, mode: DeliveryMode) -> frozenset[Party]:
        """The parties allowed for an order delivered this way."""
        return self.local if mode == DeliveryMode.LOCAL else self.carrier


_S = Shipping
_OP = frozenset({Party.OPERATOR})
_CARRIER_SCAN = ShippingRule(carrier=frozenset({Party.CARRIER}), local=_OP)
_OPERATOR = ShippingRule(carrier=_OP, local=_OP)
# A supplier that ships every line of an order hands its parcel to a carrier itself.
_SUPPLIER = frozenset({Party.SUPPLIER})

SHIPPING_TRANSITIONS: dict[tuple[Shipping, Shipping], ShippingRule] = {
    (_S.CREATED, _S.FULFILLED): _OPERATOR,
    (_S.CREATED, _S.SHIPPED): ShippingRule(carrier=_SUPPLIER, local=_SUPPLIER),
    (_S.CREATED, _S.CANCELED): _OPERATOR,
    # Undo a packing scan while the parcel is still on the table (the desk checks that
    # the carrier has not been asked to collect it yet).
    (_S.FULFILLED, _S.CREATED): _OPERATOR,
    (_S.FULFILLED, _S.SHIPPED): _CARRIER_SCAN,
    (_S.FULFILLED, _S.CANCELED): _OPERATOR,
    (_S.FULFILLED, _S.RETURNED): _OPERATOR,
    **{
        (src, to): _CARRIER_SCAN
        for src in (_S.SHIPPED, _S.PACKAGE_ISSUE)
        for to in (_S.SHIPPED, _S.PACKAGE_ISSUE, _S.DELIVERED, _S.CANCELED, _S.IN_RETURN)
        if src != to
    },
    (_S.DELIVERED, _S.IN_RETURN): ShippingRule(
        carrier=frozenset({Party.CARRIER, Party.OPERATOR}), local=_OP
    ),
    (_S.IN_RETURN, _S.RETURNED): _OPERATOR,
}



class SupplierStatus(StrEnum):
    """Where one supplier order (a dropship order's lines for one supplier) is."""

    PENDING = "pending"  # waiting for Process
    SUBMITTED = "submitted"  # sent; the supplier has not decided yet
    ACCEPTED = "accepted"
    SHIPPED = "shipped"  # with a tracking number
    CANCELED = "canceled"
    ERROR = "error"  # the supplier refused, or a local check failed: Resolve


SUPPLIER_INFO: dict[str, StatusInfo] = {
    s.value: StatusInfo(s.value, label, colour)
    for s, label, colour in [
        (SupplierStatus.PENDING, _l("Pending"), "blue"),
        (SupplierStatus.SUBMITTED, _l("Submitted"), "teal"),
        (SupplierStatus.ACCEPTED, _l("Accepted"), "purple"),
        (SupplierStatus.SHIPPED, _l("Shipped"), "indigo"),
        (SupplierStatus.CANCELED, _l("Canceled"), "grey"),
        (SupplierStatus.ERROR, _l("Error"), "red"),
    ]
}

_D = SupplierStatus
_OPS = frozenset({Party.OPERATOR})
_SUP = frozenset({Party.SUPPLIER})
_SYS = frozenset({Party.SYSTEM})
# (from, to) -> parties. Processing is the operator's (or the system's, for a channel
# that auto-processes); the supplier answers; a local check that fails is the system's.
SUPPLIER_TRANSITIONS: dict[tuple[SupplierStatus, SupplierStatus], frozenset[Party]] = {
    (_D.PENDING, _D.SUBMITTED): _OPS | _SYS,
    (_D.SUBMITTED, _D.ACCEPTED): _SUP,
    (_D.SUBMITTED, _D.SHIPPED): _SUP,
    (_D.ACCEPTED, _D.SHIPPED): _SUP,
    (_D.PENDING, _D.CANCELED): _OPS | _SYS,
    (_D.ERROR, _D.CANCELED): _OPS | _SYS,
    (_D.SUBMITTED, _D.CANCELED): _OPS | _SUP | _SYS,
    (_D.ACCEPTED, _D.CANCELED): _OPS | _SUP | _SYS,
    (_D.PENDING, _D.ERROR): _SYS,
    (_D.SUBMITTED, _D.ERROR): _SUP | _SYS,
    (_D.ACCEPTED, _D.ERROR): _SUP,
    # Resolve: the operator fixed what was wrong; the order waits for Process again.
    (_D.ERROR, _D.PENDING): _OPS,
}

TERMINAL_SUPPLIER = frozenset({_D.SHIPPED, _D.CANCELED})
# Details a Resolve (or an edit before submission) may change.
EDITABLE_SUPPLIER = frozenset({_D.PENDING, _D.ERROR})


def supplier_parties(src: str, dst: str) -> frozenset[Party]:
    """Parties allowed to move a supplier order from src to dst (empty when never)."""
    return SUPPLIER_TRANSITIONS.get((SupplierStatus(src), SupplierStatus(dst)), frozenset())


class PushStatus(StrEnum):
    """Whether an arrived order went on to confirmation (the channel's forwarding settings)."""

    SENT = "sent"
    NOT_SENT = "not_sent"
    ERROR = "error"


PUSH_INFO: dict[str, StatusInfo] = {
    s.value: StatusInfo(s.value, label, colour)
    for s, label, colour in [
        (PushStatus.SENT, _l("Sent"), "green"),
        (PushStatus.NOT_SENT, _l("Not sent"), "grey"),
        (PushStatus.ERROR, _l("Error"), "red"),
    ]
}


class News(StrEnum):
    """The channel's side of a shipped order: has the channel heard it shipped?"""

    NOT_SHIPPED = "not_shipped"
    WAITING = "waiting"  # shipped without a tracking code; waiting for one
    DUE = "due"  # ready to tell the channel
    SENT = "sent"
    ERROR = "error"  # the last attempt failed; retried


NEWS_INFO: dict[str, StatusInfo] = {
    s.value: StatusInfo(s.value, label, colour)
    for s, label, colour in [
        (News.NOT_SHIPPED, _l("Not shipped"), "grey"),
        (News.WAITING, _l("Waiting"), "amber"),
        (News.DUE, _l("Not shipped"), "grey"),
        (News.SENT, _l("Shipped"), "indigo"),
        (News.ERROR, _l("Error"), "red"),
    ]
}

TERMINAL_SHIPPING = frozenset({_S.RETURNED, _S.CANCELED})

CONFIRMATION_EFFECTS: dict[Confirmation, tuple[Effect, ...]] = {
    _C.CONFIRMED: (Effect.TAKE_STOCK, Effect.REGISTER_PARCEL),
}
SHIPPING_EFFECTS: dict[Shipping, tuple[Effect, ...]] = {
    _S.SHIPPED: (Effect.PUSH_TRACKING,),
    _S.RETURNED: (Effect.RESTOCK,),
}


def confirmation_parties(src: str, dst: str) -> frozenset[Party]:
    """Parties allowed to move a confirmation from src to dst (empty when never)."""
    return CONFIRMATION_TRANSITIONS.get((Confirmation(src), Confirmation(dst)), frozenset())


def shipping_parties(src: str, dst: str, mode: str) -> frozenset[Party]:
    """Parties allowed to move a parcel from src to dst for this delivery mode."""
    rule = SHIPPING_TRANSITIONS.get((Shipping(src), Shipping(dst)))
    return rule.parties(DeliveryMode(mode)) if rule else frozenset()


def shipping_targets(src: str, mode: str, parties: frozenset[Party]) -> list[Shipping]:
    """Statuses these parties may move a parcel to from src, in table order."""
    return [
        dst for dst in Shipping
        if shipping_parties(src, dst, mode) & parties
    ]
