"""Reads for the notary's review (manual 7.3): the office's review queue with deadlines, and one case's evidence
laid out buyer by buyer. Always scoped to one office; the personal-data views are audited by the caller.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import NotaryOffice, Organisation, Role, User
from ecancel.buyers.manifest import ManifestCheck, manifest_verify
from ecancel.buyers.models import (
    CheckPurpose,
    Consent,
    DocumentOpening,
    Journey,
    JourneyCheck,
    JourneyUpload,
    Manifest,
    UploadSlot,
)
from ecancel.buyers.selectors import TITLES, case_documents_for_buyer
from ecancel.buyers.services.journey import AGENT_SUBJECT_OFFSET
from ecancel.buyers.steps import FOREIGN_DOCUMENTS, MAINLAND_ID
from ecancel.core.calendar import ONE_DAY, WorkCalendar, review_due_date
from ecancel.exchange.selectors import inbox_body
from ecancel.identity.id_numbers import IdType, normalise_id_number
from ecancel.identity.messages import reason_message
from ecancel.identity.models import CheckEvidence, CheckKind, EvidenceRole, IdentityCheck, ManualReview
from ecancel.notary.calendar import deadline_window
from ecancel.notary.models import CalendarDayKind, CaseParty, NotaryCase, OfficeCalendarDay, PartyRole
from ecancel.notary.transitions import CaseStatus

# --- the queue ----------------------------------------------------------------------------------------


class QueueView(enum.StrEnum):
    ALL = "all"
    MINE = "mine"
    UNASSIGNED = "unassigned"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"


QUEUE_VIEW_LABELS: dict[QueueView, Promise] = {
    QueueView.ALL: _("全部待审核"),
    QueueView.MINE: _("指派给我的"),
    QueueView.UNASSIGNED: _("未指派"),
    QueueView.OVERDUE: _("已超期"),
    QueueView.DUE_SOON: _("即将到期"),
}


def office_calendar(office: NotaryOffice) -> WorkCalendar:
    """The office's holidays and 调休 working days, read in one query."""
    days: dict[str, set[date]] = defaultdict(set)
    for day, kind in OfficeCalendarDay.objects.filter(office=office).values_list("day", "kind"):
        days[kind].add(day)
    return WorkCalendar(
        holidays=frozenset(days[CalendarDayKind.HOLIDAY]),
        working_weekend_days=frozenset(days[CalendarDayKind.WORKING_DAY]),
    )


def office_calendar_days(office: NotaryOffice, *, since: date) -> QuerySet[OfficeCalendarDay]:
    return OfficeCalendarDay.objects.filter(office=office, day__gte=since).order_by("day")


def office_of(organisation: Organisation) -> NotaryOffice:
    """The office record of a notary-office organisation; 404 for one set up without it."""
    office = NotaryOffice.objects.filter(organisation=organisation).first()
    if office is None:
        raise Http404
    return office


def accepted_on(case: NotaryCase) -> date:
    """The day the office accepted the case (收案), in the office's time zone: day 0 of the review period."""
    return timezone.localtime(case.received_at).date()


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def review_queue(
    *,
    office: Organisation,
    user: User,
    view: QueueView = QueueView.ALL,
    query: str = "",
    today: date,
    calendar: WorkCalendar,
) -> QuerySet[NotaryCase]:
    """The office's cases under review (公证审核中), oldest first, with the assignee and the buyers loaded."""
    cases = (
        NotaryCase.objects.for_office_organisation(office.pk)
        .filter(status=CaseStatus.UNDER_REVIEW)
        .select_related("assignee")
        .prefetch_related(
            Prefetch(
                "parties",
                queryset=CaseParty.objects.filter(role=PartyRole.BUYER).select_related("journey").order_by("position"),
                to_attr="buyers",
            )
        )
        .order_by("received_at", "sequence")
    )
    query = query.strip()
    if query:
        buyer_named = CaseParty.objects.filter(case=OuterRef("pk"), role=PartyRole.BUYER, name__icontains=query)
        cases = cases.filter(Q(case_number__icontains=query) | Q(contract_no__icontains=query) | Q(Exists(buyer_named)))
    window = deadline_window(today, calendar)
    # A deadline depends only on the acceptance day, and later acceptance never gives an earlier deadline: each
    # filter is a bound on received_at (see notary.calendar.latest_start_due_by).
    overdue_before = _day_start(window.overdue_if_accepted_by + ONE_DAY)
    soon_before = _day_start(window.due_soon_if_accepted_by + ONE_DAY)
    if view == QueueView.MINE:
        cases = cases.filter(assignee=user)
    elif view == QueueView.UNASSIGNED:
        cases = cases.filter(assignee__isnull=True)
    elif view == QueueView.OVERDUE:
        cases = cases.filter(received_at__lt=overdue_before)
    elif view == QueueView.DUE_SOON:
        cases = cases.filter(received_at__gte=overdue_before, received_at__lt=soon_before)
    return cases


@dataclass(frozen=True)
class QueueRow:
    case: NotaryCase
    accepted_on: date
    due_on: date
    working_days_left: int  # negative once overdue
    overdue: bool
    due_soon: bool

    @property
    def working_days_overdue(self) -> int:
        """At least 1 once overdue, even on a day off right after the deadline."""
        return max(1, -self.working_days_left) if self.overdue else 0


def queue_rows(cases: list[NotaryCase], *, today: date, calendar: WorkCalendar) -> list[QueueRow]:
    """Each case with its deadline, computed from the calendar (no query)."""
    window = deadline_window(today, calendar)
    rows = []
    for case in cases:
        start = accepted_on(case)
        due = review_due_date(start, calendar)
        rows.append(
            QueueRow(
                case=case,
                accepted_on=start,
                due_on=due,
                working_days_left=calendar.working_days_between(today, due),
                overdue=due < today,
                due_soon=not due < today and start <= window.due_soon_if_accepted_by,
            )
        )
    return rows


def office_notaries(office: Organisation) -> list[User]:
    """The office's active notaries (公证员): whom a case can be assigned to."""
    return list(
        User.objects.filter(organisation=office, role=Role.NOTARY, is_active=True).order_by("display_name", "username")
    )


def staff_user_by_uuid(user_uuid: UUID) -> User | None:
    """Any staff user by their public id (the assignment service decides whether they may take a case)."""
    return User.objects.select_related("organisation").filter(uuid=user_uuid).first()


# --- one case's evidence --------------------------------------------------------------------------------


class Flag(enum.StrEnum):
    MISMATCH = "mismatch"
    EXPIRED = "expired"
    REUSED = "reused"
    MANUAL_REVIEW = "manual_review"


FLAG_LABELS: dict[Flag, Promise] = {
    Flag.MISMATCH: _("信息不一致"),
    Flag.EXPIRED: _("证件已过期"),
    Flag.REUSED: _("文件重复使用"),
    Flag.MANUAL_REVIEW: _("需人工审核"),
}

DOCUMENT_PURPOSES = (CheckPurpose.DOCUMENT_READ, CheckPurpose.FINAL_DOCUMENT)
FACE_PURPOSES = (CheckPurpose.FACE, CheckPurpose.FACE_AGAIN)
MISMATCH_REASONS = frozenset({"name_mismatch", "number_mismatch"})
# Evidence a check derived from other files (a cut portrait, a copy of an earlier one): not a file anyone sent.
DERIVED_ROLES = frozenset({"portrait", "reference", "previous"})


# How the notary reads a check's server-chosen liveness action and the side of the document it read.
ACTION_LABELS: dict[str, Promise] = {"turn_left": _("向左转头"), "turn_right": _("向右转头"), "nod": _("点头")}
READING_LABELS: dict[str, Promise] = {
    "id_card_front": _("居民身份证人像面"),
    "id_card_back": _("居民身份证国徽面"),
    **FOREIGN_DOCUMENTS,
}


@dataclass(frozen=True)
class RaisedFlag:
    flag: Flag
    detail: str

    @property
    def label(self) -> str:
        return str(FLAG_LABELS[self.flag])


@dataclass
class CheckRow:
    attached: JourneyCheck
    check: IdentityCheck
    evidence: list[CheckEvidence]

    @property
    def purpose_label(self) -> str:
        return str(CheckPurpose(self.attached.purpose).label)

    @property
    def reasons(self) -> list[tuple[str, str]]:
        return [(code, reason_message(code)) for code in self.check.reasons]

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.check.action, self.check.action))

    @property
    def document_kind_label(self) -> str:
        return str(READING_LABELS.get(self.check.document_kind, self.check.document_kind))

    @property
    def _kept(self) -> list[CheckEvidence]:
        """Files kept, and those purged at the end of their retention period (shown as such); a file the engine
        used but did not keep has no copy and is not shown."""
        return [e for e in self.evidence if e.stored_name or e.purged_at]

    @property
    def shown_files(self) -> list[CheckEvidence]:
        """What the page shows: every kept file but the camera frames after the first (a check may send dozens)."""
        captures = [e for e in self._kept if e.role == EvidenceRole.CAPTURE]
        return [e for e in self._kept if e.role != EvidenceRole.CAPTURE or e is captures[0]]

    @property
    def hidden_frames(self) -> list[CheckEvidence]:
        return [e for e in self._kept if e.role == EvidenceRole.CAPTURE][1:]

    @property
    def fields(self) -> dict[str, Any]:
        read = self.check.details.get("fields")
        return read if isinstance(read, dict) else {}


@dataclass(frozen=True)
class OpeningRow:
    opening: DocumentOpening
    title: str
    as_now: bool  # the hash opened is the document's hash today


@dataclass(frozen=True)
class Compared:
    label: Promise
    applied: str
    pushed: str | None
    read: str | None
    matches: bool | None  # None: nothing read to compare with
    secret: bool = False  # an ID number: shown masked


@dataclass
class BuyerReview:
    party: CaseParty
    journey: Journey | None
    actor: CaseParty
    pushed: dict[str, Any] | None
    compared: list[Compared] = field(default_factory=list)
    face_checks: list[CheckRow] = field(default_factory=list)
    document_checks: list[CheckRow] = field(default_factory=list)
    video_checks: list[CheckRow] = field(default_factory=list)
    uploads: list[JourneyUpload] = field(default_factory=list)
    signature: JourneyUpload | None = None
    consents: list[Consent] = field(default_factory=list)
    openings: list[OpeningRow] = field(default_factory=list)
    manual_reviews: list[ManualReview] = field(default_factory=list)
    manifest: Manifest | None = None
    manifest_check: ManifestCheck | None = None
    flags: list[RaisedFlag] = field(default_factory=list)

    @property
    def by_agent(self) -> bool:
        return self.actor.role == PartyRole.AGENT

    @property
    def pushed_id_type(self) -> str:
        value = (self.pushed or {}).get("id_type", "")
        return str(IdType(value).label) if value in IdType.values else str(value or "—")

    @property
    def document_label(self) -> str:
        """The document the buyer chose to be checked with, by name."""
        kind = self.journey.document_kind if self.journey is not None else ""
        if kind == MAINLAND_ID:
            return str(IdType.MAINLAND_ID.label)
        return str(FOREIGN_DOCUMENTS.get(kind, kind or "—"))

    @property
    def photos(self) -> list[JourneyUpload]:
        return [u for u in self.uploads if u.slot != UploadSlot.SIGNATURE]


@dataclass(frozen=True)
class CaseReview:
    case: NotaryCase
    buyers: list[BuyerReview]


def _subject_party(actor: CaseParty) -> int:
    return (AGENT_SUBJECT_OFFSET if actor.role == PartyRole.AGENT else 0) + actor.position


def _pushed_people(case: NotaryCase) -> dict[tuple[str, int], dict[str, Any]]:
    """The buyers and the agent as the seller's signed push named them (materials.pushed / .repushed)."""
    body = inbox_body(recipient=case.office.organisation, message_id=case.source_message_id) or {}
    people: dict[tuple[str, int], dict[str, Any]] = {}
    for applicant in body.get("applicants") or []:
        if isinstance(applicant, dict) and isinstance(applicant.get("position"), int):
            people[(PartyRole.BUYER, applicant["position"])] = applicant
    if isinstance(body.get("agent"), dict):
        people[(PartyRole.AGENT, 1)] = body["agent"]
    return people


def _read_identity(rows: list[CheckRow]) -> tuple[str | None, str | None, str | None]:
    """Name, number and end of validity read from the documents (the latest reading that gave each)."""
    name = number = valid_until = None
    for row in sorted(rows, key=lambda r: r.check.started_at):
        read = row.fields
        read_name = read.get("name") or read.get("latin_name")
        if not read_name and read.get("surname"):
            read_name = f"{read.get('surname', '')} {read.get('given_names', '')}".strip()
        name = read_name or name
        number = read.get("number") or number
        valid_until = read.get("expiry_date") or read.get("valid_to") or valid_until
    return name, number, valid_until


def _engine_says(rows: list[CheckRow], check: str, reason: str) -> bool | None:
    """Whether the identity engine found the read ``check`` to hold (False if any reading said it did not)."""
    verdicts = [r.check.details.get("checks", {}).get(check) for r in rows]
    if any(v is False for v in verdicts) or any(reason in r.check.reasons for r in rows):
        return False
    return True if any(v is True for v in verdicts) else None


def _expired_detail(valid_until: str | None, rows: list[CheckRow], today: date) -> str | None:
    """Why the document counts as expired (its end of validity before ``today``, or a reading said so); None if not."""
    try:
        if valid_until is not None and date.fromisoformat(valid_until) < today:
            return str(_("证件有效期至 %(date)s")) % {"date": valid_until}
    except ValueError:  # 长期 (no end), or something the engine could not make a date of
        pass
    if any("document_expired" in r.check.reasons for r in rows):
        return str(_("证件识别时发现证件已过有效期"))
    return None


def _compare(review: BuyerReview, name: str | None, number: str | None, rows: list[CheckRow]) -> None:
    actor, pushed = review.actor, review.pushed or {}
    name_matches = _engine_says(rows, "name_matches_expected", "name_mismatch") if name else None
    number_matches = _engine_says(rows, "number_matches_expected", "number_mismatch") if number else None
    if number and number_matches is None:
        number_matches = normalise_id_number(number) == normalise_id_number(actor.id_number)
    review.compared = [
        Compared(_("姓名"), actor.name, pushed.get("name"), name, name_matches),
        Compared(_("证件号码"), actor.id_number, pushed.get("id_number"), number, number_matches, secret=True),
    ]


def _flags(review: BuyerReview, *, valid_until: str | None, reused: set[str], today: date) -> list[RaisedFlag]:
    raised = []
    rows = review.document_checks
    pushed = review.pushed
    differs = [c for c in review.compared if c.matches is False]
    if pushed is not None and (
        pushed.get("name") != review.actor.name or pushed.get("id_number") != review.actor.id_number
    ):
        raised.append(RaisedFlag(Flag.MISMATCH, str(_("案件登记的信息与推送的材料不一致"))))
    if differs or any(MISMATCH_REASONS & set(r.check.reasons) for r in rows):
        labels = "、".join(str(c.label) for c in differs) or str(_("姓名或证件号码"))
        raised.append(RaisedFlag(Flag.MISMATCH, str(_("证件识别的%(fields)s与申请不一致")) % {"fields": labels}))
    expired = _expired_detail(valid_until, rows, today)
    if expired is not None:
        raised.append(RaisedFlag(Flag.EXPIRED, expired))
    if reused:
        raised.append(RaisedFlag(Flag.REUSED, str(_("有 %(n)d 个文件也出现在其他买受人或案件中")) % {"n": len(reused)}))
    reasons = [str(r.get_reason_display()) for r in review.manual_reviews]
    flagged = [c for c in _all_checks(review) if c.check.flagged]
    reasons += [str(_("核验被标记：%(purpose)s")) % {"purpose": c.purpose_label} for c in flagged]
    if reasons:
        raised.append(RaisedFlag(Flag.MANUAL_REVIEW, "；".join(reasons)))
    return raised


def _all_checks(review: BuyerReview) -> list[CheckRow]:
    return [*review.face_checks, *review.document_checks, *review.video_checks]


def _reused_hashes(
    case: NotaryCase,
    journeys: list[Journey],
    uploads: dict[Any, list[JourneyUpload]],
    rows: dict[Any, list[CheckRow]],
) -> dict[Any, set[str]]:
    """Per journey, the SHA-256 of its files that another journey (another buyer, or another case) also used."""
    own: dict[Any, set[str]] = {}
    for journey in journeys:
        hashes = {u.sha256 for u in uploads[journey.pk]}
        for row in rows.get(journey.pk, []):
            hashes |= {e.sha256 for e in row.evidence if e.role not in DERIVED_ROLES}
        own[journey.pk] = hashes
    every = set().union(*own.values()) if own else set()
    if not every:
        return {pk: set() for pk in own}
    uploads_elsewhere = list(JourneyUpload.objects.filter(sha256__in=every).values_list("sha256", "journey_id"))
    evidence_elsewhere = list(
        CheckEvidence.objects.filter(sha256__in=every)
        .exclude(role__in=DERIVED_ROLES)
        .values_list("sha256", "check_run__case_ref", "check_run__party")
    )
    subjects = {j.pk: (case.subject_ref, _subject_party(j.actor)) for j in journeys}
    reused: dict[Any, set[str]] = {}
    for pk, hashes in own.items():
        found = {sha for sha, journey_id in uploads_elsewhere if sha in hashes and journey_id != pk}
        found |= {
            sha for sha, case_ref, party in evidence_elsewhere if sha in hashes and (case_ref, party) != subjects[pk]
        }
        reused[pk] = found
    return reused


def case_review(case: NotaryCase, *, today: date) -> CaseReview:
    """Everything the notary weighs for each buyer, side by side; a fixed number of queries for the case."""
    buyers = list(
        CaseParty.objects.filter(case=case, role=PartyRole.BUYER)
        .select_related("journey__actor", "journey__manifest")
        .order_by("position")
    )
    journeys = [p.journey for p in buyers if getattr(p, "journey", None) is not None]
    journey_ids = [j.pk for j in journeys]
    consents: dict[Any, list[Consent]] = defaultdict(list)
    for consent in Consent.objects.filter(journey_id__in=journey_ids).order_by("at", "kind"):
        consents[consent.journey_id].append(consent)
    openings: dict[Any, list[DocumentOpening]] = defaultdict(list)
    for opening in DocumentOpening.objects.filter(journey_id__in=journey_ids).order_by("at"):
        openings[opening.journey_id].append(opening)
    uploads: dict[Any, list[JourneyUpload]] = defaultdict(list)
    for upload in JourneyUpload.objects.filter(journey_id__in=journey_ids).order_by("at", "created_at"):
        uploads[upload.journey_id].append(upload)
    evidence: dict[Any, list[CheckEvidence]] = defaultdict(list)
    attached = list(
        JourneyCheck.objects.filter(journey_id__in=journey_ids).select_related("check_run").order_by("at", "created_at")
    )
    for file in CheckEvidence.objects.filter(check_run_id__in=[a.check_run_id for a in attached]).order_by("pk"):
        evidence[file.check_run_id].append(file)
    rows: dict[Any, list[CheckRow]] = defaultdict(list)
    for item in attached:
        rows[item.journey_id].append(CheckRow(item, item.check_run, evidence[item.check_run_id]))
    reviews = ManualReview.objects.filter(case_ref=case.subject_ref).order_by("routed_at")
    manual: dict[int, list[ManualReview]] = defaultdict(list)
    for review_row in reviews:
        manual[review_row.party].append(review_row)
    pushed = _pushed_people(case)
    documents = {d.key: d.sha256 for d in case_documents_for_buyer(case)}
    reused = _reused_hashes(case, journeys, uploads, rows)
    result = []
    for party in buyers:
        journey = getattr(party, "journey", None)
        actor = journey.actor if journey is not None else party
        review = BuyerReview(party=party, journey=journey, actor=actor, pushed=pushed.get((actor.role, actor.position)))
        if journey is not None:
            checks = rows[journey.pk]
            review.face_checks = [r for r in checks if r.attached.purpose in FACE_PURPOSES]
            review.document_checks = [r for r in checks if r.attached.purpose in DOCUMENT_PURPOSES]
            review.video_checks = [r for r in checks if r.check.kind == CheckKind.VIDEO]
            review.uploads = uploads[journey.pk]
            review.signature = next((u for u in reversed(review.uploads) if u.slot == UploadSlot.SIGNATURE), None)
            review.consents = consents[journey.pk]
            review.openings = [
                OpeningRow(o, str(TITLES.get(o.document, o.document)), documents.get(o.document) == o.sha256)
                for o in openings[journey.pk]
            ]
            review.manual_reviews = manual[_subject_party(actor)]
            manifest = getattr(journey, "manifest", None)
            if manifest is not None and manifest.sealed:  # one still being sealed is shown as none yet
                review.manifest = manifest
                review.manifest_check = manifest_verify(bytes(manifest.content), bytes(manifest.signature))
        name, number, valid_until = _read_identity(review.document_checks)
        _compare(review, name, number, review.document_checks)
        review.flags = _flags(
            review, valid_until=valid_until, reused=reused.get(journey.pk, set()) if journey else set(), today=today
        )
        result.append(review)
    return CaseReview(case=case, buyers=result)


# --- files behind the review page -----------------------------------------------------------------------


def review_upload_get(case: NotaryCase, upload_id: UUID) -> JourneyUpload | None:
    """A buyer's upload, found only among the case's own journeys."""
    return JourneyUpload.objects.select_related("journey__buyer").filter(journey__case=case, pk=upload_id).first()


def review_check_file_get(case: NotaryCase, evidence_id: int) -> CheckEvidence | None:
    """A file an identity check of one of the case's journeys used; None for any other."""
    checks = JourneyCheck.objects.filter(journey__case=case).values("check_run_id")
    return CheckEvidence.objects.select_related("check_run").filter(pk=evidence_id, check_run_id__in=checks).first()


def review_manifest_get(case: NotaryCase, position: int) -> Manifest | None:
    return (
        Manifest.objects.select_related("journey__buyer")
        .filter(journey__case=case, journey__buyer__position=position, journey__buyer__role=PartyRole.BUYER)
        .filter(sealed_at__isnull=False)
        .first()
    )
