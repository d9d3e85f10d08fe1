"""Identity services: records, replays, attempts and back-off, manual review, the path without
face processing, the video text, reused videos, plain-words feedback, and the worker's retries.

The null provider stands in for the engine (its outcomes are configured per test); the clock is
passed in."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pytest_django import Settings

from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, NotFound, ValidationFailed
from ecancel.identity import services
from ecancel.identity.evidence import evidence_get
from ecancel.identity.models import CheckEvidence, EvidenceRole, IdentityCheck, ManualReview, ReviewReason
from ecancel.identity.services import Subject
from ecancel.identity.transitions import CheckStatus
from tests.identity import makers
from tests.identity.engine_support import face_crop, head_frames, jpeg

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
CTX = RequestContext.system("test")
BUYER = Subject("(2026)中证受字第0001号", 1)
CoCallbacks = Callable[..., object]


@pytest.fixture(autouse=True)
def null_provider(settings: Settings) -> Settings:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}
    return settings


_frames = iter(range(10_000))


def fresh_frame() -> bytes:
    """A camera frame never sent before (each differs in one pixel)."""
    picture = face_crop().copy()
    index = next(_frames)
    picture[index // 256 % 256, index % 256] = np.uint8(index % 251)
    return jpeg(picture, quality=95)


def start(subject: Subject = BUYER, now: datetime = NOW) -> IdentityCheck:
    return services.face_check_start(
        subject=subject, name="张三", id_number="11010519491231002X", return_url="https://x/back", now=now, ctx=CTX
    )


def face_check(
    capture: CoCallbacks, *, frames: tuple[bytes, ...] | None = None, subject: Subject = BUYER, now: datetime = NOW
) -> IdentityCheck:
    """Start, submit and judge one face check (the worker's task is run directly, with our clock)."""
    check = start(subject, now)
    with capture():
        services.face_check_submit(
            subject=subject, check_id=check.pk, nonce=check.nonce, frames=frames or (fresh_frame(),), now=now, ctx=CTX
        )
    return services.face_check_run(check_id=check.pk, now=now + timedelta(seconds=2))


def test_a_face_check_is_recorded_with_provider_scores_reasons_timings_and_hashes(
    django_capture_on_commit_callbacks: CoCallbacks,
) -> None:
    frame = fresh_frame()
    check = face_check(django_capture_on_commit_callbacks, frames=(frame,))
    assert check.status == CheckStatus.PASSED
    assert check.action in ("turn_left", "turn_right", "nod")
    assert len(check.nonce) >= 32
    assert (check.provider, check.model_version) == ("null", "1")
    assert "test double" in check.model
    assert check.scores == {"distance": 0.0}
    assert check.threshold == 0.5
    assert check.reasons == []
    assert (check.started_at, check.submitted_at) == (NOW, NOW)
    assert check.finished_at == NOW + timedelta(seconds=2)
    assert check.duration_ms is not None
    evidence = check.evidence.get(role=EvidenceRole.CAPTURE)
    stored = evidence_get(evidence.stored_name, actor=None, organisation=None, ctx=CTX)
    assert evidence.sha256 == hashlib.sha256(stored).hexdigest()
    tags = set(AuditEvent.objects.filter(object_id=str(check.pk)).values_list("tag", flat=True))
    assert tags == {"identity.face.started", "identity.face.submitted", "identity.face.decided"}


def test_a_wrong_nonce_is_refused_and_changes_nothing() -> None:
    check = start()
    with pytest.raises(ValidationFailed):
        services.face_check_submit(
            subject=BUYER, check_id=check.pk, nonce="guessed", frames=(fresh_frame(),), now=NOW, ctx=CTX
        )
    check.refresh_from_db()
    assert check.status == CheckStatus.STARTED
    assert not CheckEvidence.objects.exists()


def test_another_subjects_check_is_not_found_and_changes_nothing() -> None:
    """A check id learnt elsewhere, even with its token, reaches nothing of another buyer's check."""
    check = start()
    stranger = Subject("(2026)中证受字第0009号", 1)
    with pytest.raises(NotFound):
        services.face_check_submit(
            subject=stranger, check_id=check.pk, nonce=check.nonce, frames=(fresh_frame(),), now=NOW, ctx=CTX
        )
    issued = services.video_challenge_issue(subject=BUYER, now=NOW, ctx=CTX)
    with pytest.raises(NotFound):
        services.video_check_submit(
            subject=Subject(BUYER.case_ref, 2),
            check_id=issued.pk,
            nonce=issued.nonce,
            video=makers.make_video(2, size=(160, 120)),
            now=NOW,
            ctx=CTX,
        )
    check.refresh_from_db()
    issued.refresh_from_db()
    assert (check.status, issued.status) == (CheckStatus.STARTED, CheckStatus.STARTED)
    assert not CheckEvidence.objects.exists()


def test_a_late_capture_is_refused() -> None:
    check = start()
    with pytest.raises(InvalidTransition) as caught:
        services.face_check_submit(
            subject=BUYER,
            check_id=check.pk,
            nonce=check.nonce,
            frames=(fresh_frame(),),
            now=NOW + timedelta(minutes=6),
            ctx=CTX,
        )
    assert caught.value.code == "expired"


def test_a_capture_sent_before_fails_as_a_replay(django_capture_on_commit_callbacks: CoCallbacks) -> None:
    frame = fresh_frame()
    assert face_check(django_capture_on_commit_callbacks, frames=(frame,)).status == CheckStatus.PASSED
    replay = face_check(django_capture_on_commit_callbacks, frames=(frame,), now=NOW + timedelta(minutes=1))
    assert replay.status == CheckStatus.FAILED
    assert replay.reasons == ["replayed_capture"]


def test_five_failures_back_off_for_ten_minutes(
    django_capture_on_commit_callbacks: CoCallbacks, null_provider: Settings
) -> None:
    null_provider.ECANCEL_IDENTITY_NULL_OUTCOMES = {"face": "failed:mismatch"}
    for minute in range(5):
        face_check(django_capture_on_commit_callbacks, now=NOW + timedelta(minutes=minute))
    last_failure = NOW + timedelta(minutes=4, seconds=2)
    attempts = services.face_attempts(subject=BUYER, now=last_failure)
    assert (attempts.failed, attempts.tries_left) == (5, 5)
    assert attempts.wait_until == last_failure + timedelta(minutes=10)
    with pytest.raises(InvalidTransition) as caught:
        start(now=last_failure + timedelta(minutes=9))
    assert caught.value.code == "backed_off"
    assert start(now=last_failure + timedelta(minutes=10, seconds=1)).status == CheckStatus.STARTED


def test_after_the_set_number_of_failures_the_notary_reviews(
    django_capture_on_commit_callbacks: CoCallbacks, null_provider: Settings
) -> None:
    null_provider.ECANCEL_IDENTITY_NULL_OUTCOMES = {"face": "failed:no_face_a"}
    null_provider.ECANCEL_FACE_MANUAL_REVIEW_AFTER = 3
    null_provider.ECANCEL_FACE_BACKOFF_AFTER = 5
    checks = [face_check(django_capture_on_commit_callbacks, now=NOW + timedelta(minutes=m)) for m in range(3)]
    review = ManualReview.objects.get()
    assert (review.case_ref, review.party, review.reason) == (BUYER.case_ref, 1, ReviewReason.FACE_ATTEMPTS_EXHAUSTED)
    assert review.failed_checks == 3
    with pytest.raises(InvalidTransition) as caught:
        start(now=NOW + timedelta(hours=1))
    assert caught.value.code == "manual_review"
    feedback = services.check_feedback(check=checks[-1], now=NOW + timedelta(hours=1))
    assert feedback.tries_left == 0
    assert feedback.messages == [
        "没有找到人脸：请正对镜头，让整张脸出现在画面中",
        "自动核验次数已用完，将转由公证员人工审核",
    ]


def test_a_failed_check_says_why_and_how_many_tries_are_left(
    django_capture_on_commit_callbacks: CoCallbacks, null_provider: Settings
) -> None:
    null_provider.ECANCEL_IDENTITY_NULL_OUTCOMES = {"face": "failed:too_dark_a,several_faces_a"}
    check = face_check(django_capture_on_commit_callbacks)
    feedback = services.check_feedback(check=check, now=NOW)
    assert feedback.status == CheckStatus.FAILED
    assert feedback.tries_left == 9
    assert feedback.messages == [
        "光线太暗：请到明亮处再试",
        "画面中有不止一张人脸：请确保只有您本人在镜头前",
        "还可以再试9次",
    ]


def test_other_subjects_keep_their_own_count(
    django_capture_on_commit_callbacks: CoCallbacks, null_provider: Settings
) -> None:
    null_provider.ECANCEL_IDENTITY_NULL_OUTCOMES = {"face": "failed:mismatch"}
    face_check(django_capture_on_commit_callbacks)
    co_buyer = Subject(BUYER.case_ref, 2)
    assert services.face_attempts(subject=co_buyer, now=NOW).failed == 0


def test_refusing_face_processing_routes_to_the_notary() -> None:
    review = services.face_processing_refuse(subject=BUYER, now=NOW, ctx=CTX)
    assert review.reason == ReviewReason.FACE_PROCESSING_REFUSED
    assert services.face_processing_refuse(subject=BUYER, now=NOW, ctx=CTX) == review
    assert AuditEvent.objects.filter(tag="identity.face.refused").count() == 2
    with pytest.raises(InvalidTransition):
        start()


def test_the_video_text_is_random_and_valid_ten_minutes(django_capture_on_commit_callbacks: CoCallbacks) -> None:
    first = services.video_challenge_issue(subject=BUYER, now=NOW, ctx=CTX)
    second = services.video_challenge_issue(subject=BUYER, now=NOW, ctx=CTX)
    assert first.challenge_text != second.challenge_text
    assert first.expires_at == NOW + timedelta(minutes=10)
    video = makers.make_video(2, size=(160, 120))
    with pytest.raises(InvalidTransition):
        services.video_check_submit(
            subject=BUYER,
            check_id=first.pk,
            nonce=first.nonce,
            video=video,
            now=NOW + timedelta(minutes=10, seconds=1),
            ctx=CTX,
        )
    with django_capture_on_commit_callbacks():
        services.video_check_submit(
            subject=BUYER, check_id=second.pk, nonce=second.nonce, video=video, now=NOW + timedelta(minutes=9), ctx=CTX
        )
    judged = services.video_check_run(check_id=second.pk, now=NOW + timedelta(minutes=9))
    assert judged.status == CheckStatus.PASSED
    assert judged.challenge_text == second.challenge_text
    assert judged.evidence.get(role=EvidenceRole.VIDEO).sha256 == hashlib.sha256(video).hexdigest()


def test_the_same_video_on_another_case_is_flagged(django_capture_on_commit_callbacks: CoCallbacks) -> None:
    video = makers.make_video(2, size=(160, 120))
    judged = []
    for subject in (BUYER, Subject(BUYER.case_ref, 2), Subject("(2026)中证受字第0002号", 1)):
        issued = services.video_challenge_issue(subject=subject, now=NOW, ctx=CTX)
        with django_capture_on_commit_callbacks():
            services.video_check_submit(
                subject=subject, check_id=issued.pk, nonce=issued.nonce, video=video, now=NOW, ctx=CTX
            )
        judged.append(services.video_check_run(check_id=issued.pk, now=NOW))
    assert [(c.flagged, c.status) for c in judged[:2]] == [(False, CheckStatus.PASSED)] * 2
    assert (judged[2].flagged, judged[2].status, judged[2].reasons) == (True, CheckStatus.FAILED, ["video_reused"])


def test_an_unreadable_upload_is_refused_before_anything_is_stored() -> None:
    check = start()
    with pytest.raises(ValidationFailed):
        services.face_check_submit(
            subject=BUYER, check_id=check.pk, nonce=check.nonce, frames=(b"not an image",), now=NOW, ctx=CTX
        )
    assert not CheckEvidence.objects.exists()
    check.refresh_from_db()
    assert check.status == CheckStatus.STARTED


def test_the_worker_runs_the_check_after_commit(django_capture_on_commit_callbacks: CoCallbacks) -> None:
    check = start()
    with django_capture_on_commit_callbacks(execute=True):
        services.face_check_submit(
            subject=BUYER, check_id=check.pk, nonce=check.nonce, frames=(fresh_frame(),), now=NOW, ctx=CTX
        )
    check.refresh_from_db()
    assert check.status == CheckStatus.PASSED


def test_an_unavailable_provider_is_retried_then_recorded_as_an_error(
    django_capture_on_commit_callbacks: CoCallbacks, null_provider: Settings
) -> None:
    null_provider.ECANCEL_IDENTITY_NULL_OUTCOMES = {"face": "unavailable:throttled"}
    check = start()
    with django_capture_on_commit_callbacks(execute=True):
        services.face_check_submit(
            subject=BUYER, check_id=check.pk, nonce=check.nonce, frames=(fresh_frame(),), now=NOW, ctx=CTX
        )
    check.refresh_from_db()
    assert (check.status, check.retryable_error) == (CheckStatus.ERROR, "throttled")
    assert services.face_attempts(subject=BUYER, now=NOW).failed == 0, "the provider's trouble is not the buyer's"
    assert services.check_feedback(check=check, now=NOW).messages == ["核验服务暂时不可用，请稍后再试"]


def test_document_check_records_what_was_read(django_capture_on_commit_callbacks: CoCallbacks) -> None:
    with django_capture_on_commit_callbacks():
        check = services.document_check_submit(
            subject=BUYER,
            kind="id_card_front",
            image=jpeg(face_crop()),
            expected_name="张三",
            expected_number="11010519491231002X",
            now=NOW,
            ctx=CTX,
        )
    judged = services.document_check_run(check_id=check.pk, now=NOW, today=NOW.date())
    assert judged.status == CheckStatus.PASSED
    assert judged.document_kind == "id_card_front"
    assert judged.details["fields"] == {"name": "张三", "number": "11010519491231002X"}


def test_an_unknown_document_kind_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        services.document_check_submit(
            subject=BUYER, kind="library_card", image=b"", expected_name=None, expected_number=None, now=NOW, ctx=CTX
        )


@pytest.mark.slow
def test_local_engine_compares_with_the_id_portrait_then_with_the_first_capture(
    django_capture_on_commit_callbacks: CoCallbacks, null_provider: Settings
) -> None:
    null_provider.ECANCEL_IDENTITY_PROVIDER = "local"
    with django_capture_on_commit_callbacks():
        document = services.document_check_submit(
            subject=BUYER,
            kind="id_card_front",
            image=makers.to_jpeg(makers.render_id_card_front()),
            expected_name="张伟",
            expected_number="44010619900307001X",
            now=NOW,
            ctx=CTX,
        )
    document = services.document_check_run(check_id=document.pk, now=NOW, today=NOW.date())
    assert document.status == CheckStatus.PASSED, document.reasons
    id_portrait = document.evidence.get(role=EvidenceRole.PORTRAIT)

    judged = []
    for minute in (1, 2):
        check = start(now=NOW + timedelta(minutes=minute))
        frames = tuple(jpeg(frame, quality=85 + minute) for frame in head_frames(check.action))
        with django_capture_on_commit_callbacks():
            services.face_check_submit(
                subject=BUYER,
                check_id=check.pk,
                nonce=check.nonce,
                frames=frames,
                now=NOW + timedelta(minutes=minute),
                ctx=CTX,
            )
        judged.append(services.face_check_run(check_id=check.pk, now=NOW + timedelta(minutes=minute)))
    first, second = judged
    assert first.status == CheckStatus.PASSED, first.reasons
    assert first.scores["distance"] < first.threshold
    assert "distance_previous" not in first.scores
    assert first.evidence.get(role=EvidenceRole.REFERENCE).sha256 == id_portrait.sha256
    assert second.status == CheckStatus.PASSED, second.reasons
    assert second.scores["distance_previous"] < second.threshold
    first_capture = first.evidence.get(role=EvidenceRole.PORTRAIT)
    assert second.evidence.get(role=EvidenceRole.PREVIOUS).sha256 == first_capture.sha256


def test_a_task_delivered_twice_changes_nothing(django_capture_on_commit_callbacks: CoCallbacks) -> None:
    check = face_check(django_capture_on_commit_callbacks)
    again = services.face_check_run(check_id=check.pk, now=NOW + timedelta(hours=1))
    assert (again.status, again.finished_at) == (CheckStatus.PASSED, check.finished_at)
    assert again.evidence.count() == check.evidence.count()


def _read_document(image: bytes, *, callbacks: CoCallbacks, today: datetime = NOW, number: str = "") -> IdentityCheck:
    with callbacks():
        check = services.document_check_submit(
            subject=BUYER,
            kind="passport",
            image=image,
            expected_name="SMITH JOHN",
            expected_number=number or "E12345678",
            now=today,
            ctx=CTX,
        )
    return services.document_check_run(check_id=check.pk, now=today, today=today.date())


def test_a_picture_already_read_and_passed_today_is_not_read_again(
    django_capture_on_commit_callbacks: CoCallbacks, monkeypatch: pytest.MonkeyPatch, null_provider: Settings
) -> None:
    from ecancel.identity.providers.null import NullProvider

    readings: list[str] = []
    real_read = NullProvider.read_document

    def counted(self: NullProvider, **kwargs: object) -> object:
        readings.append(str(kwargs["kind"]))
        return real_read(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(NullProvider, "read_document", counted)
    page, other_page = jpeg(face_crop()), fresh_frame()

    first = _read_document(page, callbacks=django_capture_on_commit_callbacks)
    again = _read_document(page, callbacks=django_capture_on_commit_callbacks)
    assert (first.status, again.status) == (CheckStatus.PASSED, CheckStatus.PASSED)
    assert len(readings) == 1, "the same picture, passed today, is not read twice"
    assert again.details["same_image_as"] == str(first.pk)
    assert again.details["fields"] == first.details["fields"]
    stored = first.evidence.get(role=EvidenceRole.DOCUMENT).stored_name
    cleaned = evidence_get(stored, actor=None, organisation=None, ctx=None)
    assert cleaned != page, "stored as cleaned (re-encoded), as the upload step stores the same photo"
    from_upload = _read_document(cleaned, callbacks=django_capture_on_commit_callbacks)
    assert from_upload.details["same_image_as"] == str(first.pk)
    assert len(readings) == 1, "handed the cleaned picture the first check read: not read again"

    _read_document(other_page, callbacks=django_capture_on_commit_callbacks)
    _read_document(page, callbacks=django_capture_on_commit_callbacks, number="E87654321")
    _read_document(page, callbacks=django_capture_on_commit_callbacks, today=NOW + timedelta(days=1))
    assert len(readings) == 4, "another picture, other expectations or another day are read again"

    null_provider.ECANCEL_IDENTITY_NULL_OUTCOMES = {"document": "failed:document_expired"}
    refused = fresh_frame()
    assert _read_document(refused, callbacks=django_capture_on_commit_callbacks).status == CheckStatus.FAILED
    _read_document(refused, callbacks=django_capture_on_commit_callbacks)
    assert len(readings) == 6, "a reading that did not pass is never reused"
