"""Domain errors carry a message a person can act on; views map them to 4xx."""

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule refused the request; nothing was changed."""

    status_code = 422
    title = _l("Please check what you entered")

    # The message is translated where it is raised (gettext with named placeholders).
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransitionRefused(DomainError):
    """The status table does not allow this move from the order's current state."""

    status_code = 409
    title = _l("Not possible from this status")


class NotAllowed(DomainError):
    """The actor's role, or their hold on the order, does not permit this."""

    status_code = 403
    title = _l("Not allowed")


class Conflict(DomainError):
    """Someone else changed the order since the actor loaded it."""

    status_code = 409
    title = _l("Someone got there first")


class InvalidInput(DomainError):
    """The request itself is incomplete or malformed."""

    status_code = 422


class OutOfStock(DomainError):
    """A warehouse does not hold enough of a product for a line."""

    status_code = 409
    title = _l("Not enough stock")


class Missing(DomainError):
    """The order (or other record) the request names does not exist."""

    status_code = 404
    title = _l("Not found")
