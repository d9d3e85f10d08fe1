"""The notary's review (manual 7.3): giving a case to a notary, the office's working calendar its deadlines are
counted on, and opening the buyers' evidence.

Reading evidence changes nothing, but every look at personal data is a recorded event (who, which case, what),
so it goes through here beside the one change this module makes, the assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import filetype
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import NotaryOffice, Role, User
from ecancel.audit.services import record_event
from ecancel.buyers.models import JourneyUpload, Manifest
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, NotFound, PermissionRefused, field_error
from ecancel.identity.evidence import evidence_get
from ecancel.identity.models import CheckEvidence
from ecancel.notary.models import CalendarDayKind, NotaryCase, OfficeCalendarDay
from ecancel.notary.transitions import CaseStatus

# What evidence files may be served as; anything else goes out as bytes to download, never rendered.
SERVED_TYPES = frozenset({"image/jpeg", "image/png", "video/webm", "video/mp4"})
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "video/webm": "webm", "video/mp4": "mp4"}


@transaction.atomic
def case_assign(*, case: NotaryCase, notary: User | None, actor: User, ctx: RequestContext) -> NotaryCase:
    """Give the review of ``case`` to ``notary`` (a 公证员 of the case's office), or take it back (None).

    Only the office's notary admin assigns; the case must be under review.
    """
    locked = NotaryCase.objects.select_for_update(of=("self",)).select_related("office__organisation").get(pk=case.pk)
    office = locked.office.organisation
    if not (actor.has_role(Role.NOTARY_ADMIN) and actor.organisation_id == office.pk):
        raise PermissionRefused(_("只有本公证处的管理员可以指派承办公证员"))
    if locked.status != CaseStatus.UNDER_REVIEW:
        raise InvalidTransition(
            _("案件状态为「%(status)s」，只有审核中的案件可以指派"),
            params={"status": locked.get_status_display()},
            code="not_under_review",
        )
    if notary is not None:
        if notary.organisation_id != office.pk:
            raise field_error(
                "notary", _("%(name)s不是本公证处的工作人员，不能承办本处案件"), params={"name": str(notary)}
            )
        if not notary.has_role(Role.NOTARY):
            raise field_error("notary", _("%(name)s不是公证员，只能指派给公证员"), params={"name": str(notary)})
    previous = locked.assignee
    if previous == notary:
        return locked
    locked.assignee = notary
    locked.assigned_at = timezone.now() if notary is not None else None
    locked.save(update_fields=["assignee", "assigned_at", "updated_at"])
    record_event(
        "notary.case.assigned" if notary is not None else "notary.case.unassigned",
        actor=actor,
        organisation=office,
        obj=locked,
        data={
            "case_number": locked.case_number,
            "notary": str(notary.uuid) if notary is not None else None,
            "previous": str(previous.uuid) if previous is not None else None,
        },
        ctx=ctx,
    )
    return locked


def review_record_view(*, case: NotaryCase, actor: User, buyers: list[int], ctx: RequestContext) -> None:
    """The review page was shown: every buyer's data and evidence list, to ``actor``."""
    record_event(
        "notary.review.viewed",
        actor=actor,
        organisation=case.office.organisation,
        obj=case,
        data={"personal_data": True, "case_number": case.case_number, "buyers": buyers},
        ctx=ctx,
    )


def _office_admin_only(actor: User, office: NotaryOffice) -> None:
    if not (actor.has_role(Role.NOTARY_ADMIN) and actor.organisation_id == office.organisation_id):
        raise PermissionRefused(_("只有本公证处的管理员可以维护工作日历"))


@transaction.atomic
def office_calendar_day_set(
    *, office: NotaryOffice, day: date, kind: str, note: str, actor: User, ctx: RequestContext
) -> OfficeCalendarDay:
    """Mark ``day`` a holiday, or a weekend day worked (调休); deadlines counted from then on follow it."""
    _office_admin_only(actor, office)
    if kind == CalendarDayKind.WORKING_DAY and day.weekday() < 5:
        raise field_error("kind", _("%(day)s是工作日，无需设为调休上班日"), params={"day": day.isoformat()})
    entry, created = OfficeCalendarDay.objects.update_or_create(
        office=office, day=day, defaults={"kind": kind, "note": note.strip()}
    )
    record_event(
        "notary.calendar.day_set",
        actor=actor,
        organisation=office.organisation,
        obj=entry,
        data={"day": day.isoformat(), "kind": kind, "note": entry.note, "created": created},
        ctx=ctx,
    )
    return entry


@transaction.atomic
def office_calendar_day_remove(*, office: NotaryOffice, entry_id: UUID, actor: User, ctx: RequestContext) -> None:
    """Drop one entry of the office's calendar: the day is an ordinary weekday or weekend day again."""
    _office_admin_only(actor, office)
    entry = OfficeCalendarDay.objects.select_for_update().filter(office=office, pk=entry_id).first()
    if entry is None:
        raise NotFound(_("未找到该日期"))
    record_event(
        "notary.calendar.day_removed",
        actor=actor,
        organisation=office.organisation,
        obj=entry,
        data={"day": entry.day.isoformat(), "kind": entry.kind, "note": entry.note},
        ctx=ctx,
    )
    entry.delete()


@dataclass(frozen=True)
class EvidenceFile:
    content: bytes
    media_type: str
    filename: str


def _served_type(content: bytes, recorded: str = "") -> str:
    media_type = recorded or filetype.guess_mime(content) or ""
    return media_type if media_type in SERVED_TYPES else "application/octet-stream"


class EvidencePurged(DomainError):
    """The file was deleted at the end of its retention period (notary.services.retention)."""

    def __init__(self) -> None:
        super().__init__(_("该文件已按保存期限删除"), code="evidence_purged", http_status=410)


def evidence_open(
    *,
    case: NotaryCase,
    item: JourneyUpload | CheckEvidence,
    actor: User,
    ctx: RequestContext,
    byte_range: str = "",
) -> EvidenceFile:
    """Decrypt one evidence file of ``case`` (found by the caller through the case) and record who saw it."""
    if item.purged_at is not None:
        raise EvidencePurged()
    office = case.office.organisation
    content = evidence_get(item.stored_name, actor=actor, organisation=office, ctx=ctx)
    if isinstance(item, JourneyUpload):
        media_type = _served_type(content, item.media_type)
        what = {"upload": str(item.pk), "slot": item.slot, "buyer": item.journey.buyer.position}
        stem = f"{item.slot}-{item.journey.buyer.position}"
    else:
        media_type = _served_type(content)
        what = {"check_file": item.pk, "check": str(item.check_run_id), "role": item.role}
        stem = f"{item.check_run.kind}-{item.role}-{item.pk}"
    record_event(
        "notary.review.evidence_viewed",
        actor=actor,
        organisation=office,
        obj=case,
        data={"personal_data": True, "sha256": item.sha256, "range": byte_range[:60], **what},
        ctx=ctx,
    )
    return EvidenceFile(
        content=content,
        media_type=media_type,
        filename=f"{case.case_number}-{stem}.{EXTENSIONS.get(media_type, 'bin')}",
    )


def manifest_open(*, case: NotaryCase, manifest: Manifest, part: str, actor: User, ctx: RequestContext) -> bytes:
    """A buyer's sealed manifest (``json``) or its detached CMS signature (``p7s``), recorded as viewed."""
    content = bytes(manifest.content) if part == "json" else bytes(manifest.signature)
    record_event(
        "notary.review.manifest_downloaded",
        actor=actor,
        organisation=case.office.organisation,
        obj=case,
        data={
            "personal_data": True,
            "buyer": manifest.journey.buyer.position,
            "part": part,
            "manifest_sha256": manifest.sha256,
        },
        ctx=ctx,
    )
    return content
