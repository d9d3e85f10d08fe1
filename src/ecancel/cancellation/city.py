"""The filing authority's city-wide view (住建局): every application of every developer, one status line each across
the filing side and the notary office, and the city's figures. Read-only; filing officers only."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import Applicant, Application, ApplicationPush, RevokeRequest
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.calendar import WorkCalendar, review_due_date
from ecancel.exchange.messages import RefusalReason


def city_applications(*, query: str = "", status: str = "") -> QuerySet[Application]:
    """Every application in the city, newest first: searched by application or contract number, developer, buyer."""
    applications = (
        Application.objects.select_related(
            "contract__unit__building__project", "seller", "notary_office", "certificate"
        )
        .prefetch_related(
            Prefetch("applicants", queryset=Applicant.objects.order_by("position")),
            Prefetch("pushes", queryset=ApplicationPush.objects.order_by("-version")),
            Prefetch("revoke_requests", queryset=RevokeRequest.objects.order_by("-requested_at")),
        )
        .order_by("-updated_at")
    )
    if status:
        applications = applications.filter(status=status)
    query = query.strip()
    if query:
        matches = (
            Q(number__icontains=query)
            | Q(contract__contract_no__icontains=query)
            | Q(seller__name__icontains=query)
            | Q(applicants__name__icontains=query)
        )
        applications = applications.filter(pk__in=Application.objects.filter(matches).values("pk"))
    return applications


def notary_due_date(application: Application) -> dt.date | None:
    """The notary office's deadline (15 working days after it accepted the current version), while it runs.

    The filing side does not know an office's holidays: weekends only, so the date may be a little early.
    """
    if application.status not in (ApplicationStatus.AWAITING_BUYERS, ApplicationStatus.UNDER_REVIEW):
        return None
    push = next((p for p in application.pushes.all() if p.version == application.version), None)
    if push is None or push.accepted_at is None:
        return None
    return review_due_date(timezone.localdate(push.accepted_at), WorkCalendar())


@dataclass(frozen=True)
class StepTime:
    label: str | Promise
    median_hours: float | None
    cases: int


@dataclass(frozen=True)
class CityFigures:
    by_status: list[tuple[str, int]]
    steps: list[StepTime]
    refusals: list[tuple[str, int]]


def _median_hours(spans: list[dt.timedelta]) -> float | None:
    return round(statistics.median(s.total_seconds() for s in spans) / 3600, 1) if spans else None


def city_figures() -> CityFigures:
    """Counts by status, the median time of each step, refusals by reason: a handful of queries, whatever the size."""
    counts = dict(Application.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    by_status = [(str(status.label), counts.get(status.value, 0)) for status in ApplicationStatus]
    pushed_to_accepted = [
        accepted - pushed
        for pushed, accepted in ApplicationPush.objects.filter(accepted_at__isnull=False).values_list(
            "created_at", "accepted_at"
        )
        if accepted is not None
    ]
    last_submissions = dict(
        Applicant.objects.filter(submitted_at__isnull=False)
        .values("application")
        .annotate(last=Max("submitted_at"))
        .values_list("application", "last")
    )
    accepted_to_submitted, submitted_to_certificate, certificate_to_cancelled = [], [], []
    for application in (
        Application.objects.filter(pk__in=list(last_submissions))
        .select_related("certificate", "contract")
        .prefetch_related("pushes")
    ):
        push = next((p for p in application.pushes.all() if p.version == application.version), None)
        submitted = last_submissions[application.pk]
        if push is not None and push.accepted_at is not None:
            accepted_to_submitted.append(submitted - push.accepted_at)
        certificate = getattr(application, "certificate", None)
        if certificate is not None:
            submitted_to_certificate.append(certificate.issued_at - submitted)
            if application.contract.cancelled_at is not None:
                certificate_to_cancelled.append(application.contract.cancelled_at - certificate.issued_at)
    steps = [
        StepTime(label, _median_hours(spans), len(spans))
        for label, spans in (
            (_("推送 → 公证处受理"), pushed_to_accepted),
            (_("受理 → 买受人全部提交"), accepted_to_submitted),
            (_("全部提交 → 出具公证书"), submitted_to_certificate),
            (_("出具公证书 → 备案注销"), certificate_to_cancelled),
        )
    ]
    # Every refusal ever recorded (a refused application pushed again clears its message, not its history).
    refused = Counter(
        AuditEvent.objects.filter(tag="cancellation.application.refused").values_list("data__code", flat=True)
    )
    refusals = [(str(reason.label), refused.get(reason.value, 0)) for reason in RefusalReason]
    return CityFigures(by_status=by_status, steps=steps, refusals=refusals)
