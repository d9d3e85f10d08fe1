"""Access functions for the operator console: every read is scoped to the operator's own company."""

from __future__ import annotations

import uuid

from django.http import Http404

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.models import OrganisationKind, User
from ecancel.core.errors import NotFound
from ecancel.filing.models import FiledContract
from ecancel.filing.selectors import contract_get


def access_contract(user: User, contract_id: uuid.UUID | str) -> FiledContract:
    """The contract if the user's company sold it; 404 otherwise (never 403: no probing)."""
    seller = staff_organisation(user, OrganisationKind.DEVELOPER)
    try:
        return contract_get(seller=seller, contract_id=contract_id)
    except NotFound as exc:
        raise Http404 from exc
