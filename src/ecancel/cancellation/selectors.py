"""Reads of cancellation applications, always scoped to the seller company so nobody sees another's."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.cancellation.models import (
    Agent,
    Applicant,
    Application,
    ApplicationPush,
    ReceivedCertificate,
    RevokeRequest,
)
from ecancel.cancellation.transitions import WAITS_FOR_REVOKE, ApplicationStatus, RevokeStatus, application_can
from ecancel.core.errors import NotFound
from ecancel.exchange.models import OutboxMessage
from ecancel.exchange.selectors import outbox_latest

# The list's filter for applications with a revoke waiting for the notary office (not a status of their own).
REVOKING_FILTER = "revoking"


def _applications_of(seller: Organisation) -> QuerySet[Application]:
    return (
        Application.objects.for_seller(seller)
        .select_related("contract__unit__building__project", "seller", "notary_office", "agent", "certificate")
        .prefetch_related(
            Prefetch("applicants", queryset=Applicant.objects.order_by("position")),
            Prefetch(
                "pushes",
                queryset=ApplicationPush.objects.select_related(
                    "notary_office", "form_document", "agreement_document"
                ).order_by("-version"),
            ),
            Prefetch(
                "revoke_requests", queryset=RevokeRequest.objects.select_related("push").order_by("-requested_at")
            ),
        )
    )


def application_list(*, seller: Organisation, query: str = "", status: str | None = None) -> QuerySet[Application]:
    """The seller's applications, newest first, searched by application/contract number, buyer name or room."""
    applications = _applications_of(seller)
    if status == REVOKING_FILTER:
        applications = applications.filter(revoke_requests__status=RevokeStatus.PENDING)
    elif status:
        applications = applications.filter(status=status)
    query = query.strip()
    if query:
        matches = (
            Q(number__icontains=query)
            | Q(contract__contract_no__icontains=query)
            | Q(applicants__name__icontains=query)
            | Q(contract__unit__room_no__icontains=query)
            | Q(contract__unit__building__project__name__icontains=query)
        )
        applications = applications.filter(pk__in=Application.objects.for_seller(seller).filter(matches).values("pk"))
    return applications


def application_get(*, seller: Organisation, application_id: uuid.UUID | str) -> Application:
    """One of the seller's applications; NotFound (never another company's) otherwise."""
    try:
        return _applications_of(seller).get(pk=application_id)
    except (Application.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise NotFound(_("未找到该注销申请")) from exc


def application_agent(application: Application) -> Agent | None:
    try:
        return application.agent
    except Agent.DoesNotExist:
        return None


def application_current_push(application: Application) -> ApplicationPush | None:
    """The push of the version the application is at, if that version was pushed."""
    return next((p for p in application.pushes.all() if p.version == application.version), None)


def application_push(application: Application, version: int) -> ApplicationPush | None:
    """The push of one version, if that version was pushed."""
    return next((p for p in application.pushes.all() if p.version == version), None)


def application_previous_push(application: Application) -> ApplicationPush | None:
    """The last push before the current version: what a re-push is compared with."""
    return next((p for p in application.pushes.all() if p.version < application.version), None)


def application_latest_revoke(application: Application) -> RevokeRequest | None:
    """The application's latest revoke request, answered or not (from the prefetched rows)."""
    return next(iter(application.revoke_requests.all()), None)


def application_certificate(application: Application) -> ReceivedCertificate | None:
    """The notarial certificate that cancelled the application's filing, once it came back."""
    try:
        return application.certificate
    except ReceivedCertificate.DoesNotExist:
        return None


def application_operator_can(application: Application, action: str) -> bool:
    """Whether the page may offer the operator ``action``: the move table allows it and no revoke is waiting."""
    if action in WAITS_FOR_REVOKE and application.revoke_pending is not None:
        return False
    return application_can(application, action)


def application_qr(application: Application) -> ApplicationPush | None:
    """The push whose QR code the operator may show: accepted, still with the office, no revoke on its way."""
    if application.status not in (ApplicationStatus.AWAITING_BUYERS, ApplicationStatus.UNDER_REVIEW):
        return None
    if application.revoke_pending is not None:
        return None
    push = application_current_push(application)
    if push is None or not push.handoff_url:
        return None
    return push


def application_delivery(application: Application) -> OutboxMessage | None:
    """The last message sent about the application while it waits for the notary office: is it stuck?"""
    if application.status != ApplicationStatus.PUSHED and application.revoke_pending is None:
        return None
    return outbox_latest(sender=application.seller, application_ref=application.pk)


def open_application_for_contract(*, seller: Organisation, contract_id: uuid.UUID) -> Application | None:
    """The contract's application still in progress, if any (at most one: a database constraint)."""
    return Application.objects.for_seller(seller).open().filter(contract_id=contract_id).first()


def notary_office_list() -> QuerySet[Organisation]:
    """The notary offices an operator may push to."""
    return Organisation.objects.filter(kind=OrganisationKind.NOTARY_OFFICE, notary_office__isnull=False).order_by(
        "name"
    )
