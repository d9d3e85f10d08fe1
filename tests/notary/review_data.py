"""Buyers' evidence for the review pages, made straight in the tables the phone journey fills (fast, and any
outcome on cue: a mismatch, an expired document, a reused file). The real journey is walked in test_review_pages."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ecancel.buyers import steps
from ecancel.buyers.manifest import canonical, manifest_sign
from ecancel.buyers.models import (
    CheckPurpose,
    Consent,
    ConsentKind,
    DocumentOpening,
    Journey,
    JourneyCheck,
    JourneyPath,
    JourneyUpload,
    Manifest,
    UploadSlot,
)
from ecancel.buyers.services.submission import manifest_content
from ecancel.buyers.transitions import JourneyStatus
from ecancel.identity.evidence import evidence_put
from ecancel.identity.models import CheckEvidence, CheckKind, EvidenceRole, IdentityCheck, ManualReview
from ecancel.identity.transitions import CheckStatus
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.transitions import CaseStatus

SEEN = {"ip": "203.0.113.20", "user_agent": "Mozilla/5.0 (Linux; Android 14) Mobile"}


def picture(colour: tuple[int, int, int], *, kind: str = "JPEG") -> bytes:
    """A small picture of one colour carrying a random note: no two calls give the same file (reuse is on cue)."""
    note = os.urandom(8).hex()
    out = io.BytesIO()
    image = Image.new("RGB", (64, 48), colour)
    if kind == "PNG":
        info = PngInfo()
        info.add_text("note", note)
        image.save(out, format="PNG", pnginfo=info)
    else:
        image.save(out, format="JPEG", comment=note)
    return out.getvalue()


@dataclass
class Evidence:
    """What a buyer's journey left behind, for the tests to look for."""

    journey: Journey
    uploads: dict[str, JourneyUpload] = field(default_factory=dict)
    files: list[CheckEvidence] = field(default_factory=list)
    checks: list[IdentityCheck] = field(default_factory=list)


def _upload(journey: Journey, slot: str, content: bytes, media_type: str, at: datetime) -> JourneyUpload:
    stored = evidence_put(content, purpose=f"buyer_{slot}")
    return JourneyUpload.objects.create(
        journey=journey,
        slot=slot,
        media_type=media_type,
        sha256=stored.sha256,
        size=stored.size,
        stored_name=stored.name,
        at=at,
        **SEEN,
    )


def _check(
    journey: Journey,
    purpose: str,
    kind: str,
    at: datetime,
    *,
    files: list[tuple[str, bytes]],
    status: str = CheckStatus.PASSED,
    **values: Any,
) -> tuple[IdentityCheck, list[CheckEvidence]]:
    party = journey.actor.position + (100 if journey.actor.role == PartyRole.AGENT else 0)
    check = IdentityCheck.objects.create(
        case_ref=journey.case.subject_ref,
        party=party,
        kind=kind,
        status=status,
        provider="null",
        model="test",
        started_at=at,
        submitted_at=at,
        finished_at=at + timedelta(seconds=2),
        **values,
    )
    JourneyCheck.objects.create(journey=journey, purpose=purpose, check_run=check, at=at, **SEEN)
    stored = []
    for role, content in files:
        kept = evidence_put(content, purpose=f"{kind}_{role}")
        stored.append(
            CheckEvidence.objects.create(
                check_run=check, role=role, sha256=kept.sha256, size=kept.size, stored_name=kept.name
            )
        )
    return check, stored


def submitted_buyer(
    case: NotaryCase,
    position: int,
    *,
    read: dict[str, str] | None = None,
    read_reasons: tuple[str, ...] = (),
    read_checks: dict[str, bool] | None = None,
    front: bytes | None = None,
    video: bytes | None = None,
    manual_review: str | None = None,
    seal: bool = True,
) -> Evidence:
    """A buyer who went the whole way (face path, or document + video with ``video``) and was sealed."""
    buyer = CaseParty.objects.get(case=case, role=PartyRole.BUYER, position=position)
    at = timezone.now() - timedelta(hours=1)
    journey = Journey.objects.create(
        case=case,
        buyer=buyer,
        actor=buyer,
        device_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        status=JourneyStatus.IN_PROGRESS,
        path=JourneyPath.DOCUMENT_VIDEO if video is not None else JourneyPath.FACE,
        document_kind=steps.MAINLAND_ID,
        step="done",
        agreed_at=at + timedelta(minutes=3),
        started_at=at,
    )
    evidence = Evidence(journey)
    for kind in ConsentKind.values:
        Consent.objects.create(journey=journey, kind=kind, version="1", text_sha256="c" * 64, given=True, at=at, **SEEN)
    for key in ("termination_agreement", "notarization_application", "notarization_notice", "intake_record"):
        DocumentOpening.objects.create(
            journey=journey, document=key, sha256=hashlib.sha256(key.encode()).hexdigest(), at=at, **SEEN
        )
    front = front if front is not None else picture((200, 10, position))
    photos = {
        "document_front": front,
        "document_back": picture((10, 200, position)),
        "holding": picture((9, 9, position)),
    }
    for slot, content in photos.items():
        evidence.uploads[slot] = _upload(journey, slot, content, "image/jpeg", at)
    evidence.uploads[UploadSlot.SIGNATURE] = _upload(
        journey, UploadSlot.SIGNATURE, picture((0, 0, position), kind="PNG"), "image/png", at
    )
    fields = read if read is not None else {"name": buyer.name, "number": buyer.id_number, "valid_to": "2036-01-01"}
    checks = read_checks if read_checks is not None else {"name_matches_expected": True}
    document, files = _check(
        journey,
        CheckPurpose.DOCUMENT_READ,
        CheckKind.DOCUMENT,
        at,
        files=[(EvidenceRole.DOCUMENT, front)],  # the front photo, read by the engine
        status=CheckStatus.FAILED if read_reasons else CheckStatus.PASSED,
        document_kind="id_card_front",
        reasons=list(read_reasons),
        details={"fields": fields, "checks": checks},
    )
    evidence.checks.append(document)
    evidence.files += files
    if video is None:
        for n, purpose in enumerate((CheckPurpose.FACE, CheckPurpose.FACE_AGAIN)):
            face, files = _check(
                journey,
                purpose,
                CheckKind.FACE,
                at + timedelta(minutes=1 + 5 * n),
                files=[(EvidenceRole.CAPTURE, picture((50 + n, 60, f))) for f in range(3)]
                + [(EvidenceRole.PORTRAIT, picture((70, 70, position)))],
                action="turn_left",
                scores={"distance": 0.31, "yaw_change": 24.0},
                threshold=0.5,
            )
            evidence.checks.append(face)
            evidence.files += files
    else:
        recorded, files = _check(
            journey,
            CheckPurpose.VIDEO,
            CheckKind.VIDEO,
            at + timedelta(minutes=6),
            files=[(EvidenceRole.VIDEO, video)],
            challenge_text="本人自愿申请注销商品房买卖合同，核验码314159",
            scores={"duration_s": 15.2, "audio_rms_db": -20.0},
            threshold=0.5,
        )
        evidence.checks.append(recorded)
        evidence.files += files
    if manual_review is not None:
        ManualReview.objects.create(
            case_ref=case.subject_ref, party=position, reason=manual_review, failed_checks=3, routed_at=at
        )
    if seal:
        submitted = at + timedelta(minutes=10)
        content = canonical(manifest_content(journey, submitted_at=submitted))
        Manifest.objects.create(
            journey=journey,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            signature=manifest_sign(content, office=case.office.organisation),
            sealed_at=submitted,
        )
        Journey.objects.filter(pk=journey.pk).update(status=JourneyStatus.SUBMITTED, submitted_at=submitted)
        CaseParty.objects.filter(pk=buyer.pk).update(submitted_at=submitted, verification=journey.path)
    journey.refresh_from_db()
    return evidence


def under_review(case: NotaryCase) -> NotaryCase:
    NotaryCase.objects.filter(pk=case.pk).update(status=CaseStatus.UNDER_REVIEW)
    case.refresh_from_db()
    return case
