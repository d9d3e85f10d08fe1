"""Identity checks as services: issue a challenge, take the raw captures, judge them in the worker,
count attempts, route to manual review.

A subject is a party of a case (``Subject(case_ref, party)``), so the buyer journey can call these
without this package knowing its models. Every decision is made here on the server from stored
files: a page only ever sends captures, never a verdict. Times come in as ``now`` (no hidden clock).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from ecancel.identity import liveness, messages
from ecancel.identity.evidence import evidence_get, evidence_put
from ecancel.identity.models import CheckEvidence, CheckKind, EvidenceRole, IdentityCheck, ManualReview, ReviewReason
from ecancel.identity.providers import identity_provider
from ecancel.identity.providers.base import (
    DOCUMENT_KINDS,
    DocumentKind,
    FaceCapture,
    FaceStart,
    Outcome,
    ProviderRefused,
    ProviderUnavailable,
)
from ecancel.identity.transitions import DECISION_ACTIONS, CheckStatus, check_transition
from ecancel.identity.uploads import sanitize_upload

# Characters for the sentence read aloud: digits are read unambiguously in any dialect.
VIDEO_TEXT_TEMPLATE = "本人自愿申请注销商品房买卖合同，核验码{code}"
VIDEO_CODE_DIGITS = 6
MAX_FACE_FRAMES = 60


@dataclass(frozen=True)
class Subject:
    """A person being checked: a party position on a case."""

    case_ref: str
    party: int

    def __str__(self) -> str:
        return f"{self.case_ref}#{self.party}"


@dataclass(frozen=True)
class FaceAttempts:
    failed: int
    tries_left: int  # before the subject goes to manual review
    wait_until: datetime | None  # backed off until then
    manual_review: bool


@dataclass(frozen=True)
class Feedback:
    """What the buyer is told about a check."""

    status: str
    messages: list[str]
    tries_left: int | None
    wait_until: datetime | None


class IdentityServiceUnavailable(DomainError):
    def __init__(self) -> None:
        super().__init__(
            text=gettext_lazy("核验服务暂时不可用，请稍后再试"),
            code="provider_unavailable",
            http_status=503,
        )


def _subject_checks(subject: Subject, kind: str):  # type: ignore[no-untyped-def]
    return IdentityCheck.objects.filter(case_ref=subject.case_ref, party=subject.party, kind=kind)


def face_attempts(*, subject: Subject, now: datetime) -> FaceAttempts:
    """Failed face checks so far, tries left before manual review, and any back-off in force.

    Every ``ECANCEL_FACE_BACKOFF_AFTER`` failures the subject waits ``ECANCEL_FACE_BACKOFF`` from the
    last failure; after ``ECANCEL_FACE_MANUAL_REVIEW_AFTER`` failures the notary checks by hand.
    """
    failures = list(
        _subject_checks(subject, CheckKind.FACE)
        .filter(status=CheckStatus.FAILED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
    )
    limit = int(settings.ECANCEL_FACE_MANUAL_REVIEW_AFTER)
    every = int(settings.ECANCEL_FACE_BACKOFF_AFTER)
    reviewed = ManualReview.objects.filter(case_ref=subject.case_ref, party=subject.party).exists()
    wait_until = None
    if failures and len(failures) % every == 0 and failures[0] is not None:
        until = failures[0] + settings.ECANCEL_FACE_BACKOFF
        wait_until = until if until > now else None
    return FaceAttempts(
        failed=len(failures),
        tries_left=max(0, limit - len(failures)),
        wait_until=wait_until,
        manual_review=reviewed or len(failures) >= limit,
    )


def _store(check: IdentityCheck, role: str, content: bytes) -> CheckEvidence:
    stored_name = evidence_put(content, purpose=f"{check.kind}_{role}").name
    return CheckEvidence.objects.create(
        check_run=check,
        role=role,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        stored_name=stored_name,
    )


def _enqueue(task_name: str, check_id: uuid.UUID) -> None:
    from ecancel.identity import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(str(check_id)))


# --- face -----------------------------------------------------------------------------


@transaction.atomic
def face_check_start(
    *, subject: Subject, name: str, id_number: str, return_url: str, now: datetime, ctx: RequestContext
) -> IdentityCheck:
    """A new face check with a server-chosen action and nonce (or a hosted flow's URL)."""
    attempts = face_attempts(subject=subject, now=now)
    if attempts.manual_review:
        raise InvalidTransition(
            gettext_lazy("自动人脸核验次数已用完，将由公证员人工审核"),
            code="manual_review",
        )
    if attempts.wait_until is not None:
        raise InvalidTransition(
            gettext_lazy("失败次数较多，请10分钟后再试"),
            code="backed_off",
        )
    provider = identity_provider()
    action, nonce = liveness.random_action(), secrets.token_urlsafe(24)
    try:
        started = provider.start_face_check(
            action=action, nonce=nonce, return_url=return_url, name=name, id_number=id_number
        )
    except (ProviderUnavailable, ProviderRefused) as exc:
        raise IdentityServiceUnavailable() from exc
    check = IdentityCheck.objects.create(
        case_ref=subject.case_ref,
        party=subject.party,
        kind=CheckKind.FACE,
        provider=provider.name,
        action=started.action or "",
        nonce=started.nonce,
        redirect_url=started.redirect_url or "",
        external_ref=started.external_ref,
        expires_at=now + settings.ECANCEL_FACE_CHALLENGE_TTL,
        started_at=now,
    )
    record_event("identity.face.started", obj=check, data={"subject": str(subject), "provider": provider.name}, ctx=ctx)
    return check


@transaction.atomic
def _subject_check_locked(subject: Subject, check_id: uuid.UUID, kind: str) -> IdentityCheck:
    """The subject's own check under a row lock: a check id learnt elsewhere reaches nothing."""
    try:
        return IdentityCheck.objects.select_for_update().get(
            pk=check_id, kind=kind, case_ref=subject.case_ref, party=subject.party
        )
    except (IdentityCheck.DoesNotExist, ValueError) as exc:
        raise NotFound(gettext_lazy("未找到该核验：请重新开始")) from exc


def face_check_submit(
    *,
    subject: Subject,
    check_id: uuid.UUID,
    nonce: str,
    video: bytes | None = None,
    frames: tuple[bytes, ...] = (),
    now: datetime,
    ctx: RequestContext,
) -> IdentityCheck:
    """Take the raw captures of a started face check (none for a hosted flow) and queue the judging."""
    check = _subject_check_locked(subject, check_id, CheckKind.FACE)
    if not hmac.compare_digest(check.nonce.encode(), nonce.encode()):
        raise ValidationFailed(gettext_lazy("核验凭证不符：请重新开始核验"))
    if check.expires_at is not None and now > check.expires_at:
        raise InvalidTransition(gettext_lazy("本次核验已超时：请重新开始"), code="expired")
    hosted = bool(check.redirect_url)
    if not hosted and not video and not frames:
        raise ValidationFailed(gettext_lazy("没有收到采集的画面"))
    if len(frames) > MAX_FACE_FRAMES:
        raise ValidationFailed(_("采集的画面太多，最多%(limit)s帧"), params={"limit": MAX_FACE_FRAMES})
    cleaned = [sanitize_upload(video, kind="video")] if video else [sanitize_upload(f, kind="photo") for f in frames]
    check.status = check_transition(check, "submit")
    check.submitted_at = now
    check.save(update_fields=["status", "submitted_at", "updated_at"])
    for clean in cleaned:
        _store(check, EvidenceRole.CAPTURE, clean.content)
    record_event("identity.face.submitted", obj=check, data={"files": len(cleaned)}, ctx=ctx)
    _enqueue("run_face_check", check.pk)
    return check


def _read(evidence: CheckEvidence) -> bytes:
    return evidence_get(evidence.stored_name, actor=None, organisation=None, ctx=RequestContext.system("identity"))


def _latest_portrait(subject: Subject, *, kind: str, document_kind: str | None = None) -> CheckEvidence | None:
    """The portrait cut by the subject's latest passed check of ``kind``."""
    checks = _subject_checks(subject, kind).filter(status=CheckStatus.PASSED)
    if document_kind is not None:
        checks = checks.filter(document_kind=document_kind)
    evidence = CheckEvidence.objects.filter(check_run__in=checks, role=EvidenceRole.PORTRAIT)
    return evidence.order_by("-check_run__finished_at").first()


def _first_face_portrait(subject: Subject) -> CheckEvidence | None:
    checks = _subject_checks(subject, CheckKind.FACE).filter(status=CheckStatus.PASSED)
    evidence = CheckEvidence.objects.filter(check_run__in=checks, role=EvidenceRole.PORTRAIT)
    return evidence.order_by("check_run__finished_at").first()


def _record(check_id: uuid.UUID, outcome: Outcome, *, elapsed: float, now: datetime, extra_reasons: list[str]) -> None:
    """Store a provider's outcome on the check (locked), with the portrait it cut, and route if due."""
    with transaction.atomic():
        check = IdentityCheck.objects.select_for_update().get(pk=check_id)
        reasons = list(dict.fromkeys([*extra_reasons, *outcome.reasons]))
        decision = "failed" if extra_reasons and outcome.decision == "passed" else outcome.decision
        check.status = check_transition(check, DECISION_ACTIONS[decision])
        check.model, check.model_version = outcome.model, outcome.model_version
        check.scores = {k: round(v, 6) for k, v in outcome.scores.items() if v == v}  # NaN is no score
        check.threshold = outcome.threshold
        check.reasons = reasons
        check.details = {**check.details, **outcome.details}
        check.finished_at = now
        check.duration_ms = round(elapsed * 1000)
        check.retryable_error = ""
        check.save()
        if outcome.portrait is not None:
            _store(check, EvidenceRole.PORTRAIT, outcome.portrait)
        record_event(
            f"identity.{check.kind}.decided",
            obj=check,
            data={"status": check.status, "reasons": reasons, "provider": check.provider},
            result="ok" if check.status == CheckStatus.PASSED else "failed",
        )
        if check.kind == CheckKind.FACE and check.status == CheckStatus.FAILED:
            subject = Subject(check.case_ref, check.party)
            attempts = face_attempts(subject=subject, now=now)
            if attempts.failed >= int(settings.ECANCEL_FACE_MANUAL_REVIEW_AFTER):
                _route_to_review(subject, ReviewReason.FACE_ATTEMPTS_EXHAUSTED, failed=attempts.failed, now=now)


def _route_to_review(subject: Subject, reason: str, *, failed: int, now: datetime) -> ManualReview:
    review, created = ManualReview.objects.get_or_create(
        case_ref=subject.case_ref,
        party=subject.party,
        reason=reason,
        defaults={"failed_checks": failed, "routed_at": now},
    )
    if created:
        record_event("identity.review.routed", obj=review, data={"subject": str(subject), "reason": reason})
    return review


def check_give_up(*, check_id: uuid.UUID, code: str, now: datetime) -> IdentityCheck:
    """The provider could not judge the check and retrying is over: an error, not the buyer's failure."""
    with transaction.atomic():
        check = IdentityCheck.objects.select_for_update().get(pk=check_id)
        check.status = check_transition(check, "give_up")
        check.retryable_error = code[:60]
        check.finished_at = now
        check.save(update_fields=["status", "retryable_error", "finished_at", "updated_at"])
        record_event("identity.check.errored", obj=check, data={"code": code}, result="error")
    return check


def check_note_retry(*, check_id: uuid.UUID, code: str) -> None:
    """Remember the provider's latest hiccup while the worker retries."""
    IdentityCheck.objects.filter(pk=check_id).update(retryable_error=code[:60])


def face_check_run(*, check_id: uuid.UUID, now: datetime) -> IdentityCheck:
    """Judge a submitted face check (in the worker). Raises ``ProviderUnavailable`` to be retried."""
    check = IdentityCheck.objects.get(pk=check_id, kind=CheckKind.FACE)
    if check.status != CheckStatus.PROCESSING:
        return check  # already decided: a task delivered twice changes nothing
    subject = Subject(check.case_ref, check.party)
    captures = list(check.evidence.filter(role=EvidenceRole.CAPTURE).order_by("pk"))
    replayed = CheckEvidence.objects.filter(role=EvidenceRole.CAPTURE, sha256__in=[c.sha256 for c in captures]).exclude(
        check_run=check
    )
    extra: list[str] = ["replayed_capture"] if replayed.exists() else []
    reference = _latest_portrait(subject, kind=CheckKind.DOCUMENT)
    previous = _first_face_portrait(subject)
    data = [_read(c) for c in captures]
    videos = [content for content in data if _looks_like_video(content)]
    capture = FaceCapture(video=videos[0] if videos else None, frames=() if videos else tuple(data))
    start = FaceStart(nonce=check.nonce, action=check.action or None, external_ref=check.external_ref)
    began = time.perf_counter()
    outcome = identity_provider(check.provider).finish_face_check(
        start=start,
        capture=capture,
        reference=_read(reference) if reference is not None else None,
        previous=_read(previous) if previous is not None else None,
    )
    _record(check.pk, outcome, elapsed=time.perf_counter() - began, now=now, extra_reasons=extra)
    if reference is not None or previous is not None:
        with transaction.atomic():
            for role, used in ((EvidenceRole.REFERENCE, reference), (EvidenceRole.PREVIOUS, previous)):
                if used is not None:
                    CheckEvidence.objects.create(
                        check_run=check, role=role, sha256=used.sha256, size=used.size, stored_name=used.stored_name
                    )
    return IdentityCheck.objects.get(pk=check.pk)


def _looks_like_video(data: bytes) -> bool:
    return data[:4] == b"\x1a\x45\xdf\xa3" or data[4:8] == b"ftyp"


# --- documents ------------------------------------------------------------------------


# What a document check was asked to find, kept in its details beside what was read.
EXPECTATIONS = ("expected_name", "expected_number")
# Also kept: the SHA-256 of the picture as handed in, before it was cleaned (re-encoded) to be stored.
HANDED = "handed_sha256"


@transaction.atomic
def document_check_submit(
    *,
    subject: Subject,
    kind: str,
    image: bytes,
    expected_name: str | None,
    expected_number: str | None,
    now: datetime,
    ctx: RequestContext,
) -> IdentityCheck:
    """Take a photo of an identity document and queue its reading."""
    if kind not in DOCUMENT_KINDS:
        raise ValidationFailed(_("不支持的证件类型"))
    clean = sanitize_upload(image, kind="photo")
    provider = identity_provider()
    check = IdentityCheck.objects.create(
        case_ref=subject.case_ref,
        party=subject.party,
        kind=CheckKind.DOCUMENT,
        document_kind=kind,
        provider=provider.name,
        started_at=now,
        submitted_at=now,
        details={
            "expected_name": expected_name or "",
            "expected_number": expected_number or "",
            HANDED: hashlib.sha256(image).hexdigest(),
        },
    )
    check.status = check_transition(check, "submit")
    check.save(update_fields=["status", "updated_at"])
    _store(check, EvidenceRole.DOCUMENT, clean.content)
    record_event("identity.document.submitted", obj=check, data={"kind": kind}, ctx=ctx)
    _enqueue("run_document_check", check.pk)
    return check


def document_check_run(*, check_id: uuid.UUID, now: datetime, today: date) -> IdentityCheck:
    check = IdentityCheck.objects.get(pk=check_id, kind=CheckKind.DOCUMENT)
    if check.status != CheckStatus.PROCESSING:
        return check  # already decided: a task delivered twice changes nothing
    document = check.evidence.get(role=EvidenceRole.DOCUMENT)
    expected = check.details
    began = time.perf_counter()
    earlier = _passed_reading_of({document.sha256, expected.get(HANDED, "")} - {""}, check=check, today=today)
    if earlier is not None:
        outcome = Outcome(
            decision="passed",
            reasons=(),
            model=earlier.model,
            model_version=earlier.model_version,
            scores=earlier.scores,
            threshold=earlier.threshold,
            details={
                **{key: value for key, value in earlier.details.items() if key not in (*EXPECTATIONS, HANDED)},
                "same_image_as": str(earlier.pk),
            },
        )
    else:
        kind: DocumentKind = check.document_kind  # type: ignore[assignment]
        outcome = identity_provider(check.provider).read_document(
            kind=kind,
            image=_read(document),
            today=today,
            expected_name=expected.get("expected_name") or None,
            expected_number=expected.get("expected_number") or None,
        )
    _record(check.pk, outcome, elapsed=time.perf_counter() - began, now=now, extra_reasons=[])
    return IdentityCheck.objects.get(pk=check.pk)


def _passed_reading_of(sha256s: set[str], *, check: IdentityCheck, today: date) -> IdentityCheck | None:
    """The same buyer's reading of the very same picture, passed today against the same name and number.

    The very same picture: what this check stores, or what it was handed, is what the earlier one read (the
    submission's second check is handed the stored photo of the upload step, which is the cleaned picture the
    document step read when the buyer sent the same photo twice). Reading it again would give the same answer (the
    engine is deterministic), so it is not read again. Another picture, another day (a document may expire), other
    expectations or a reading that did not pass are read again."""
    for earlier in IdentityCheck.objects.filter(
        case_ref=check.case_ref,
        party=check.party,
        kind=CheckKind.DOCUMENT,
        document_kind=check.document_kind,
        provider=check.provider,
        status=CheckStatus.PASSED,
        evidence__role=EvidenceRole.DOCUMENT,
        evidence__sha256__in=sha256s,
    ).exclude(pk=check.pk):
        same_day = earlier.finished_at is not None and timezone.localdate(earlier.finished_at) == today
        same_expectations = all(earlier.details.get(key) == check.details.get(key) for key in EXPECTATIONS)
        # Points at the reading that read the picture, never at one that itself pointed back.
        if same_day and same_expectations and "same_image_as" not in earlier.details:
            return earlier
    return None


# --- video ----------------------------------------------------------------------------


@transaction.atomic
def video_challenge_issue(*, subject: Subject, now: datetime, ctx: RequestContext) -> IdentityCheck:
    """A video check with a random sentence to read aloud, valid ``ECANCEL_VIDEO_TEXT_TTL``."""
    code = "".join(secrets.choice("0123456789") for _ in range(VIDEO_CODE_DIGITS))
    check = IdentityCheck.objects.create(
        case_ref=subject.case_ref,
        party=subject.party,
        kind=CheckKind.VIDEO,
        provider=identity_provider().name,
        challenge_text=VIDEO_TEXT_TEMPLATE.format(code=code),
        nonce=secrets.token_urlsafe(24),
        expires_at=now + settings.ECANCEL_VIDEO_TEXT_TTL,
        started_at=now,
    )
    record_event("identity.video.issued", obj=check, data={"subject": str(subject)}, ctx=ctx)
    return check


@transaction.atomic
def video_check_submit(
    *, subject: Subject, check_id: uuid.UUID, nonce: str, video: bytes, now: datetime, ctx: RequestContext
) -> IdentityCheck:
    """Take the recording of an issued text (while the text is valid) and queue the judging."""
    check = _subject_check_locked(subject, check_id, CheckKind.VIDEO)
    if not hmac.compare_digest(check.nonce.encode(), nonce.encode()):
        raise ValidationFailed(gettext_lazy("核验凭证不符：请重新开始核验"))
    if check.expires_at is not None and now > check.expires_at:
        raise InvalidTransition(
            gettext_lazy("朗读文字已过期（10分钟内有效）：请重新获取"),
            code="expired",
        )
    clean = sanitize_upload(video, kind="video")
    check.status = check_transition(check, "submit")
    check.submitted_at = now
    check.save(update_fields=["status", "submitted_at", "updated_at"])
    _store(check, EvidenceRole.VIDEO, clean.content)
    record_event("identity.video.submitted", obj=check, ctx=ctx)
    _enqueue("run_video_check", check.pk)
    return check


def video_check_run(*, check_id: uuid.UUID, now: datetime) -> IdentityCheck:
    """Judge a statement video; the same file (by hash) already seen on another case is flagged."""
    check = IdentityCheck.objects.get(pk=check_id, kind=CheckKind.VIDEO)
    if check.status != CheckStatus.PROCESSING:
        return check  # already decided: a task delivered twice changes nothing
    recording = check.evidence.get(role=EvidenceRole.VIDEO)
    reused = (
        CheckEvidence.objects.filter(role=EvidenceRole.VIDEO, sha256=recording.sha256)
        .exclude(check_run__case_ref=check.case_ref)
        .exists()
    )
    portrait = _latest_portrait(Subject(check.case_ref, check.party), kind=CheckKind.DOCUMENT)
    began = time.perf_counter()
    outcome = identity_provider(check.provider).check_video(
        video=_read(recording),
        text=check.challenge_text,
        portrait=_read(portrait) if portrait is not None else None,
    )
    elapsed = time.perf_counter() - began
    _record(check.pk, outcome, elapsed=elapsed, now=now, extra_reasons=["video_reused"] if reused else [])
    if reused:
        IdentityCheck.objects.filter(pk=check.pk).update(flagged=True)
    return IdentityCheck.objects.get(pk=check.pk)


# --- the path without face processing, and what the buyer is told ----------------------


@transaction.atomic
def face_processing_refuse(*, subject: Subject, now: datetime, ctx: RequestContext) -> ManualReview:
    """The subject declines face processing: documents + the statement video, checked by the notary."""
    failed = face_attempts(subject=subject, now=now).failed
    review = _route_to_review(subject, ReviewReason.FACE_PROCESSING_REFUSED, failed=failed, now=now)
    record_event("identity.face.refused", obj=review, data={"subject": str(subject)}, ctx=ctx)
    return review


def check_feedback(*, check: IdentityCheck, now: datetime) -> Feedback:
    """The plain-words answer for a check: why it failed and how many tries are left."""
    subject = Subject(check.case_ref, check.party)
    texts = messages.reason_messages(check.reasons) if check.status != CheckStatus.PASSED else []
    tries_left: int | None = None
    wait_until = None
    if check.kind == CheckKind.FACE:
        attempts = face_attempts(subject=subject, now=now)
        tries_left, wait_until = attempts.tries_left, attempts.wait_until
        if check.status == CheckStatus.FAILED:
            texts.append(messages.tries_left_message(tries_left))
    if check.status == CheckStatus.ERROR:
        texts.append(str(_("核验服务暂时不可用，请稍后再试")))
    return Feedback(status=check.status, messages=texts, tries_left=tries_left, wait_until=wait_until)
