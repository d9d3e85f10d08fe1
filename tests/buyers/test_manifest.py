"""The sealed per-buyer manifest: signed by the notary office, checked offline by ``ecancel verify_manifest``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django import Settings

from ecancel.audit.models import AuditEvent
from ecancel.buyers.manifest import canonical, manifest_sign, manifest_verify
from ecancel.buyers.models import Journey, Manifest
from ecancel.buyers.services import submission
from ecancel.buyers.services.submission import manifest_seal, manifests_seal_pending
from ecancel.buyers.tasks import seal_pending_manifests
from ecancel.buyers.transitions import JourneyStatus
from ecancel.core.context import RequestContext
from ecancel.exchange.models import OutboxMessage
from ecancel.monitoring.figures import BusinessFigures
from ecancel.notary.models import NotaryCase
from ecancel.notary.review import review_manifest_get
from ecancel.notary.transitions import CaseStatus
from tests.buyers.journey import Phone, case_for_buyers, qr, signature_data_url
from tests.buyers.test_journey_pages import mainland_to_done
from tests.factories import NotaryOfficeFactory
from tests.monitoring.test_figures import collected

pytestmark = pytest.mark.django_db
CTX = RequestContext.system("test")
UNSEALED_AGE = ("ecancel_buyers_manifest_unsealed_oldest_age_seconds", ())


@pytest.fixture
def sealed(
    office: Any, settings: Settings, django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> Manifest:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    journey = mainland_to_done(Phone(django_capture_on_commit_callbacks), qr(case_for_buyers(office)))
    return Manifest.objects.get(journey=journey)


def write(folder: Path, content: bytes, signature: bytes) -> Path:
    path = folder / "manifest.json"
    path.write_bytes(content)
    (folder / "manifest.json.p7s").write_bytes(signature)
    return path


def test_manifest_holds_every_hash_and_verifies_offline(sealed: Manifest, tmp_path: Path, capsys: Any) -> None:
    content = json.loads(bytes(sealed.content))
    assert content["format"] == "ecancel.buyer-manifest/1"
    assert {c["kind"] for c in content["consents"]} == {"face_processing", "transfer_to_notary"}
    assert all(len(c["text_sha256"]) == 64 for c in content["consents"])
    assert [d["key"] for d in content["documents"]] == [
        "termination_agreement",
        "notarization_application",
        "notarization_notice",
        "intake_record",
    ]
    assert all(d["opened"] and d["opened"][0]["ip"] == "203.0.113.20" for d in content["documents"])
    assert {u["slot"] for u in content["uploads"]} == {"document_front", "document_back", "holding", "signature"}
    assert {c["purpose"] for c in content["checks"]} >= {"face", "face_again"}
    assert all(c["user_agent"].startswith("Mozilla/5.0") and c["evidence"] for c in content["checks"])
    path = write(tmp_path, bytes(sealed.content), bytes(sealed.signature))
    call_command("verify_manifest", str(path))
    assert "VALID" in capsys.readouterr().out


def test_a_tampered_manifest_is_refused_with_the_reason(sealed: Manifest, tmp_path: Path) -> None:
    content = json.loads(bytes(sealed.content))
    content["uploads"][0]["sha256"] = "0" * 64
    path = write(tmp_path, canonical(content), bytes(sealed.signature))
    with pytest.raises(CommandError, match="INVALID: the signature does not match") as refused:
        call_command("verify_manifest", str(path))
    assert refused.value.returncode == 1
    edited = bytes(sealed.content).replace(b'"format"', b'"format" ')
    with pytest.raises(CommandError, match="canonical"):
        call_command("verify_manifest", str(write(tmp_path, edited, bytes(sealed.signature))))


def test_a_manifest_signed_by_another_office_is_refused(sealed: Manifest) -> None:
    stranger = NotaryOfficeFactory().organisation
    content = bytes(sealed.content)
    result = manifest_verify(content, manifest_sign(content, office=stranger))
    assert not result.valid and "not by the office" in result.reason


def losing_the_sealing_job(capture: Callable[..., AbstractContextManager[Any]]) -> Callable[..., Any]:
    """A phone's capture that runs the work queued on commit except the sealing job, as if the process that
    queued it died before the worker took it."""

    @contextmanager
    def capturing(**_: Any) -> Iterator[None]:
        with capture() as queued:
            yield
        for callback in queued:
            if getattr(callback, "func", None) is not submission._queue_sealing:
                callback()

    return capturing


def sealed_events(journey: Journey) -> int:
    return AuditEvent.objects.filter(tag="buyers.manifest.sealed", object_id=str(journey.pk)).count()


def test_the_case_waits_for_every_manifest_to_be_sealed_and_a_lost_job_is_swept(
    office: Any, settings: Settings, django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    case = case_for_buyers(office, buyers=2)
    handoff = qr(case)
    first = mainland_to_done(Phone(django_capture_on_commit_callbacks), handoff, position=1)
    assert Manifest.objects.get(journey=first).sealed
    lost = Phone(losing_the_sealing_job(django_capture_on_commit_callbacks), ip="198.51.100.7")
    second = mainland_to_done(lost, handoff, position=2, variant=1)

    # Submitted and frozen, but not sealed: the case is not under review yet, and nothing can change.
    manifest = Manifest.objects.get(journey=second)
    assert second.status == JourneyStatus.SUBMITTED and not manifest.sealed and bytes(manifest.signature) == b""
    assert NotaryCase.objects.get(pk=case.pk).status == CaseStatus.AWAITING_BUYERS
    assert lost.post("/b/signature/", {"signature": signature_data_url()}).status_code == 409
    # The buyer's page says it is done; the review shows no manifest for them yet.
    assert "申请成功" in lost.get("/b/done/").content.decode()
    assert review_manifest_get(case, 2) is None
    # Operations see the wait on /metrics.
    later = manifest.created_at + dt.timedelta(minutes=3)
    assert collected(BusinessFigures(now=lambda: later))[UNSEALED_AGE] == 180

    # Beat's sweep leaves a fresh one to its queued job, and seals one older than the grace period.
    assert manifests_seal_pending(ctx=CTX) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert manifests_seal_pending(older_than=dt.timedelta(0), ctx=CTX) == 1
    manifest.refresh_from_db()
    assert manifest.sealed and manifest_verify(bytes(manifest.content), bytes(manifest.signature)).valid
    assert NotaryCase.objects.get(pk=case.pk).status == CaseStatus.UNDER_REVIEW
    assert OutboxMessage.objects.filter(message_type="buyers.submitted").count() == 1
    assert collected(BusinessFigures(now=lambda: later))[UNSEALED_AGE] == 0


def test_sealing_twice_does_nothing(
    sealed: Manifest, django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> None:
    signature, sealed_at = bytes(sealed.signature), sealed.sealed_at
    with django_capture_on_commit_callbacks(execute=True):
        assert manifest_seal(journey_id=sealed.journey_id, ctx=CTX) is False
        assert manifests_seal_pending(older_than=dt.timedelta(0), ctx=CTX) == 0
    sealed.refresh_from_db()
    assert (bytes(sealed.signature), sealed.sealed_at) == (signature, sealed_at)
    assert sealed_events(sealed.journey) == 1


def test_beat_sweeps_unsealed_manifests(settings: Settings) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["buyers-seal-pending"]["task"] == seal_pending_manifests.name
