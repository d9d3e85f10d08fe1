"""Who may see which case: staff of the office that received it, nobody else (404, never 403)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.models import OrganisationKind, User
from ecancel.notary.models import NotaryCase
from ecancel.notary.selectors import case_get


def access_case(user: User, case_id: UUID | str) -> NotaryCase:
    office = staff_organisation(user, OrganisationKind.NOTARY_OFFICE)
    try:
        return case_get(office=office, case_id=case_id)
    except NotaryCase.DoesNotExist as missing:
        raise Http404 from missing
