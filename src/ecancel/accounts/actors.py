"""Who acts in a service: a staff user of an organisation, or one of its API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecancel.core.errors import NotFound

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation, User


@dataclass(frozen=True)
class Actor:
    """Who acts for an organisation: one of its staff, or one of its API tokens (then ``user`` is None)."""

    organisation: Organisation
    user: User | None = None
    label: str = ""

    @classmethod
    def staff(cls, user: User) -> Actor:
        """A staff user acting for their organisation; a user of no organisation reaches nothing (404)."""
        if user.organisation is None:
            raise NotFound()
        return cls(organisation=user.organisation, user=user, label=str(user))

    def __str__(self) -> str:
        return self.label or str(self.user or self.organisation)
