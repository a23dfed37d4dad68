"""Who performs an operation: a user in a role, or a named worker."""

from dataclasses import dataclass

from .status import ROLE_PARTIES, Party, Role


@dataclass(frozen=True)
class Actor:
    """The actor passed to every operation; never read from the session there."""

    name: str
    parties: frozenset[Party]
    user_id: int | None = None
    role: Role | None = None

    @classmethod
    def of(cls, user) -> "Actor":
        """The actor for a logged-in user."""
        role = Role(user.role)
        return cls(name=user.username, parties=ROLE_PARTIES[role], user_id=user.id, role=role)

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        """A background job acting on the database's own rules (e.g. reconcile)."""
        return cls(name=name, parties=frozenset({Party.SYSTEM}))

    @classmethod
    def carrier(cls, name: str) -> "Actor":
        """A carrier sync reporting a scan."""
        return cls(name=f"carrier:{name}", parties=frozenset({Party.CARRIER}))

    @classmethod
    def channel(cls, name: str) -> "Actor":
        """A sales channel's sync reporting the shop's side (a cancellation)."""
        return cls(name=f"channel:{name}", parties=frozenset({Party.CHANNEL}))

    @classmethod
    def supplier(cls, name: str) -> "Actor":
        """A dropship supplier's answer (accepted, refused, shipped)."""
        return cls(name=f"supplier:{name}"[:64], parties=frozenset({Party.SUPPLIER}))

    def acts_as(self, party: Party) -> bool:
        """True when this actor may make moves reserved for that party."""
        return party in self.parties
