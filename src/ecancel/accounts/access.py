"""Helpers for access functions: staff of the right organisation kind and role, 404 otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation, User


def staff_organisation(user: User, *kinds: str) -> Organisation:
    """The user's organisation if it is of one of ``kinds``; 404 (never 403: no probing) otherwise."""
    organisation = getattr(user, "organisation", None)
    if not user.is_authenticated or organisation is None or organisation.kind not in kinds:
        raise Http404
    return organisation
