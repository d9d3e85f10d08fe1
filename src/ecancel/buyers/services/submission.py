"""Submitting a buyer's journey: check everything is in, fix the evidence, tell the notary side's case; then seal.

Two steps, as certification does. The submission is one short transaction: the manifest's canonical JSON is
fixed and stored, the journey frozen (every service refuses a submitted journey with 409) and the seller told.
Queued on commit, the worker signs the manifest with the office's key (``manifest_seal``) and, once the last buyer's
manifest is sealed, moves the case to 公证审核中. Sealing twice does nothing; a sweep seals a manifest whose job was
lost.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.buyers import steps
from ecancel.buyers.manifest import FORMAT, canonical, manifest_sign
from ecancel.buyers.models import CheckPurpose, Consent, ConsentKind, Journey, JourneyPath, Manifest, UploadSlot
from ecancel.buyers.selectors import case_documents_for_buyer, journey_checks, journey_current_uploads
from ecancel.buyers.services.journey import submitted_refusal
from ecancel.buyers.transitions import JourneyStatus, journey_transition
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.documents.pki.backends import organisation_code
from ecancel.identity.transitions import CheckStatus
from ecancel.notary.services.common import each_logged
from ecancel.notary.services.submission import case_party_record_submission, case_review_start

# A manifest submitted this long ago and still unsealed lost its queued job (a worker died): the sweep seals it.
SEALING_GRACE = timedelta(minutes=2)

REQUIRED_CHECKS = {
    JourneyPath.FACE: (CheckPurpose.FACE, CheckPurpose.FACE_AGAIN),
    JourneyPath.DOCUMENT_VIDEO: (CheckPurpose.DOCUMENT_READ, CheckPurpose.VIDEO, CheckPurpose.FINAL_DOCUMENT),
}


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seen(row: Any) -> dict[str, Any]:
    return {"at": _when(row.at), "ip": row.ip, "user_agent": row.user_agent}


def _party(party: Any) -> dict[str, Any]:
    return {
        "role": party.role,
        "position": party.position,
        "name": party.name,
        "id_type": party.id_type,
        "id_number": party.id_number,
    }


def manifest_content(journey: Journey, *, submitted_at: datetime) -> dict[str, Any]:
    """Everything the buyer saw, gave and was checked with, by hash and time (the files stay encrypted)."""
    case = journey.case
    office = case.office.organisation
    openings: dict[str, Any] = {}
    for opening in journey.openings.order_by("at"):
        openings.setdefault(opening.document, []).append({"sha256": opening.sha256, **_seen(opening)})
    documents = [
        {"key": d.key, "title": str(d.title), "sha256": d.sha256, "opened": openings.get(d.key, [])}
        for d in case_documents_for_buyer(case)
    ]
    checks = []
    for attached in journey_checks(journey):
        check = attached.check_run
        checks.append(
            {
                "purpose": attached.purpose,
                "check": str(check.pk),
                "kind": check.kind,
                "document_kind": check.document_kind,
                "status": check.status,
                "provider": check.provider,
                "model": check.model,
                "model_version": check.model_version,
                "action": check.action,
                "text_read_aloud": check.challenge_text,
                "scores": check.scores,
                "threshold": check.threshold,
                "reasons": check.reasons,
                "flagged": check.flagged,
                "started_at": _when(check.started_at),
                "submitted_at": _when(check.submitted_at),
                "finished_at": _when(check.finished_at),
                "evidence": [
                    {"role": e.role, "sha256": e.sha256, "size": e.size} for e in check.evidence.order_by("pk")
                ],
                **_seen(attached),
            }
        )
    return {
        "format": FORMAT,
        "case": {"ref": str(case.pk), "number": case.case_number, "application_no": case.application_no},
        "office": {"name": office.name, "code": organisation_code(office)},
        "buyer": _party(journey.buyer),
        "actor": _party(journey.actor),
        "path": journey.path,
        "document_kind": journey.document_kind,
        "consents": [
            {"kind": c.kind, "version": c.version, "text_sha256": c.text_sha256, "given": c.given, **_seen(c)}
            for c in Consent.objects.filter(journey=journey).order_by("at", "kind")
        ],
        "documents": documents,
        "agreed_at": _when(journey.agreed_at),
        "uploads": [
            {"slot": u.slot, "media_type": u.media_type, "sha256": u.sha256, "size": u.size, **_seen(u)}
            for u in journey.uploads.order_by("at", "created_at")
        ],
        "checks": checks,
        "started_at": _when(journey.started_at),
        "submitted_at": _when(submitted_at),
    }


def _missing(journey: Journey) -> list[str]:
    """What submission still lacks (nothing, once every step was done)."""
    missing = []
    if not Consent.objects.filter(journey=journey, kind=ConsentKind.TRANSFER_TO_NOTARY, given=True).exists():
        missing.append("consent")
    if journey.agreed_at is None:
        missing.append("read")
    uploads = journey_current_uploads(journey)
    missing += [slot for slot in UploadSlot.values if slot not in uploads]
    latest: dict[str, str] = {}
    for attached in journey_checks(journey):
        latest[attached.purpose] = attached.check_run.status
    missing += [p for p in REQUIRED_CHECKS[JourneyPath(journey.path)] if latest.get(p) != CheckStatus.PASSED]
    return missing


def journey_submit(*, journey_id: uuid.UUID, now: datetime, ctx: RequestContext) -> Journey:
    """Submit: the manifest's content is fixed, the case party marked submitted (which tells the seller) and the
    journey frozen; the office's signature follows in the worker once this commits (``manifest_seal``), and the
    case moves to review when the last buyer's manifest is sealed."""
    with transaction.atomic():
        journey = (
            Journey.objects.select_for_update()
            .select_related("case__office__organisation", "buyer", "actor")
            .get(pk=journey_id)
        )
        if journey.status == JourneyStatus.SUBMITTED:
            raise submitted_refusal()
        missing = _missing(journey)
        if missing:
            raise InvalidTransition(_("还有步骤没有完成，不能提交"), code="incomplete")
        content = canonical(manifest_content(journey, submitted_at=now))
        manifest = Manifest.objects.create(journey=journey, content=content, sha256=hashlib.sha256(content).hexdigest())
        case_party_record_submission(
            party_id=journey.buyer.pk,
            verification=journey.path,  # type: ignore[arg-type]
            actor=None,
            ctx=ctx,
        )
        journey.status = journey_transition(journey, "submit")
        journey.step, journey.submitted_at = steps.DONE, now
        journey.save(update_fields=["status", "step", "submitted_at", "updated_at"])
        _record_manifest_event("buyers.journey.submitted", manifest, ctx)
        transaction.on_commit(partial(_queue_sealing, journey.pk), robust=True)
    return journey


def _record_manifest_event(tag: str, manifest: Manifest, ctx: RequestContext) -> None:
    journey = manifest.journey
    record_event(
        tag,
        organisation=journey.case.office.organisation,
        obj=journey,
        data={"case": str(journey.case_id), "buyer": journey.buyer.position, "manifest_sha256": manifest.sha256},
        ctx=ctx,
    )


def _queue_sealing(journey_id: uuid.UUID) -> None:
    from ecancel.buyers.tasks import seal_manifest

    seal_manifest.delay(str(journey_id))


def manifest_seal(*, journey_id: uuid.UUID | str, ctx: RequestContext) -> bool:
    """Sign a submitted journey's manifest with the office's key and store the signature; the case moves to review
    if every buyer is now in and sealed. False if there was nothing to do (already sealed, or no manifest)."""
    manifest = (
        Manifest.objects.select_related("journey__case__office__organisation")
        .filter(journey_id=journey_id, sealed_at__isnull=True)
        .first()
    )
    if manifest is None:
        return False
    # Signed outside any transaction: no lock is held while the key works.
    signature = manifest_sign(bytes(manifest.content), office=manifest.journey.case.office.organisation)
    return _seal_signed(manifest_id=manifest.pk, signature=signature, ctx=ctx)


@transaction.atomic
def _seal_signed(*, manifest_id: uuid.UUID, signature: bytes, ctx: RequestContext) -> bool:
    manifest = (
        Manifest.objects.select_for_update()
        .select_related("journey__case__office__organisation", "journey__buyer")
        .get(pk=manifest_id)
    )
    if manifest.sealed:
        return False
    manifest.signature, manifest.sealed_at = signature, timezone.now()
    manifest.save(update_fields=["signature", "sealed_at", "updated_at"])
    _record_manifest_event("buyers.manifest.sealed", manifest, ctx)
    case_review_start(case_id=manifest.journey.case_id, ctx=ctx)
    return True


def manifests_seal_pending(*, older_than: timedelta = SEALING_GRACE, ctx: RequestContext) -> int:
    """Seal every manifest submitted longer than ``older_than`` ago and still unsealed (its queued job was lost);
    how many were sealed. One that fails is logged and left for the next sweep."""
    due = Manifest.objects.filter(sealed_at__isnull=True, created_at__lte=timezone.now() - older_than)
    ids = due.order_by("created_at").values_list("journey_id", flat=True)
    return each_logged(ids, lambda journey_id: manifest_seal(journey_id=journey_id, ctx=ctx), "sealing journey")
