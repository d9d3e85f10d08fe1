"""Access to applications for the operator console: scoped to the operator's company, 404 otherwise."""

from __future__ import annotations

import uuid

from django.http import Http404

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.models import OrganisationKind, User
from ecancel.cancellation.models import Application
from ecancel.cancellation.selectors import application_get
from ecancel.core.errors import NotFound


def access_application(user: User, application_id: uuid.UUID | str) -> Application:
    """The application if the user's company owns it; 404 otherwise (never 403: no probing)."""
    seller = staff_organisation(user, OrganisationKind.DEVELOPER)
    try:
        return application_get(seller=seller, application_id=application_id)
    except NotFound as exc:
        raise Http404 from exc
