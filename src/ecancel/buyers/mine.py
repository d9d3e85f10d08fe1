"""我的: the applications a buyer may see, found only through what proves it is them.

Two proofs count: the phone's device cookie (the device that went through a case's journey) and a phone number
confirmed with a one-time code (the number the seller entered for the buyer). Nothing is found by an id alone: a
case id from the address bar is looked up inside what those proofs reach.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.buyers.models import Journey
from ecancel.buyers.services.handoff import token_digest
from ecancel.buyers.transitions import JourneyStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import NotFound
from ecancel.documents.models import DocumentKind, StoredDocument
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.services.common import buyer_recipient
from ecancel.notary.transitions import CaseStatus
from ecancel.notifications.models import Notification
from ecancel.notifications.selectors import notifications_for


class MyStatus:
    """The five statuses a buyer sees (manual 7.1 "我的"), from the case's status and their own progress."""

    PENDING = ("pending", _("待认证"))
    REVIEWING = ("reviewing", _("审核中"))
    CERTIFIED = ("certified", _("已出证"))
    REFUSED = ("refused", _("不予办理"))
    REVOKED = ("revoked", _("已撤销"))


CASE_TO_MY_STATUS = {
    CaseStatus.PREPARING: MyStatus.PENDING,
    CaseStatus.AWAITING_BUYERS: MyStatus.PENDING,
    CaseStatus.UNDER_REVIEW: MyStatus.REVIEWING,
    # Approved, the certificate being signed: shown as review until it is issued.
    CaseStatus.CERTIFYING: MyStatus.REVIEWING,
    CaseStatus.CERTIFIED: MyStatus.CERTIFIED,
    CaseStatus.REFUSED: MyStatus.REFUSED,
    CaseStatus.REVOKED: MyStatus.REVOKED,
    CaseStatus.SUPERSEDED: MyStatus.REVOKED,
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    title: str | Promise
    detail: str | Promise = ""


@dataclass(frozen=True)
class MyApplication:
    case: NotaryCase
    party: CaseParty
    journey: Journey | None
    status: str
    status_label: Promise
    waiting_for_others: bool
    timeline: list[TimelineEntry] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    @property
    def recipient(self) -> str:
        return buyer_recipient(self.party)


@dataclass(frozen=True)
class Proofs:
    """What the buyer showed: the device cookie (raw, may be empty) and a confirmed phone in E.164 (may be empty)."""

    device: str = ""
    phone: str = ""

    @property
    def any(self) -> bool:
        return bool(self.device or self.phone)


def _phone_forms(e164: str) -> list[str]:
    """A confirmed number as the seller may have typed it: with or without the mainland +86."""
    return [e164, e164[3:]] if e164.startswith("+86") else [e164]


def _parties(proofs: Proofs):  # type: ignore[no-untyped-def]
    reach = Q(pk__in=[])
    if proofs.device:
        reach |= Q(journey__device_hash=token_digest(proofs.device))
    if proofs.phone:
        reach |= Q(phone__in=_phone_forms(proofs.phone))
    return (
        CaseParty.objects.filter(reach, role=PartyRole.BUYER)
        .select_related("case", "case__office", "journey")
        .order_by("-case__created_at", "position")
    )


def _my_status(case: NotaryCase, journey: Journey | None) -> tuple[str, Promise, bool]:
    key, label = CASE_TO_MY_STATUS[CaseStatus(case.status)]
    waiting = (
        case.status == CaseStatus.AWAITING_BUYERS
        and journey is not None
        and (journey.status == JourneyStatus.SUBMITTED)
    )
    return key, label, waiting


def _timeline(case: NotaryCase, journey: Journey | None) -> list[TimelineEntry]:
    entries = [TimelineEntry(case.created_at, _("公证处已受理"), case.case_number)]
    if journey is not None:
        entries.append(TimelineEntry(journey.started_at, _("开始身份认证")))
        if journey.submitted_at is not None:
            entries.append(TimelineEntry(journey.submitted_at, _("认证材料已提交")))
    if case.closed_at is not None:
        _key, label = CASE_TO_MY_STATUS[CaseStatus(case.status)]
        entries.append(TimelineEntry(case.closed_at, label, case.closed_reason))
    return sorted(entries, key=lambda entry: entry.at)


def my_applications(proofs: Proofs) -> list[MyApplication]:
    """Every case the proofs reach, newest first (a case shows once, as the first of its buyers reached)."""
    if not proofs.any:
        return []
    found: dict[uuid.UUID, MyApplication] = {}
    for party in _parties(proofs):
        if party.case_id in found:
            continue
        journey = getattr(party, "journey", None)
        key, label, waiting = _my_status(party.case, journey)
        found[party.case_id] = MyApplication(party.case, party, journey, key, label, waiting)
    return list(found.values())


def my_application(proofs: Proofs, case_id: uuid.UUID | str) -> MyApplication:
    """One case the proofs reach, with its timeline and the buyer's messages; NotFound for any other case."""
    for application in my_applications(proofs):
        if str(application.case.pk) == str(case_id):
            return MyApplication(
                application.case,
                application.party,
                application.journey,
                application.status,
                application.status_label,
                application.waiting_for_others,
                _timeline(application.case, application.journey),
                notifications_for(buyer_recipient(application.party)),
            )
    raise NotFound(_("未找到该申请"))


def my_certificate_download(application: MyApplication, *, ctx: RequestContext) -> StoredDocument:
    """The certificate the buyer is about to view or download, the download audited; NotFound before it is issued."""
    certificate = my_certificate(application)
    if certificate is None:
        raise NotFound(_("公证书尚未出具"))
    record_event(
        "buyers.certificate.downloaded",
        organisation=application.case.office.organisation,
        obj=application.case,
        data={"buyer": application.party.position, "certificate_no": certificate.reference_no},
        ctx=ctx,
    )
    return certificate


def my_certificate(application: MyApplication) -> StoredDocument | None:
    """The issued certificate of a case the buyer reached (its latest version), once the case is 已出证."""
    if application.case.status != CaseStatus.CERTIFIED:
        return None
    return (
        StoredDocument.objects.filter(subject_ref=application.case.subject_ref, kind=DocumentKind.CERTIFICATE)
        .order_by("-version")
        .first()
    )
