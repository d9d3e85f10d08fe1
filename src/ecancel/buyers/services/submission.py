"""Submitting a buyer's journey: check everything is in, seal the evidence, tell the notary side's case.

After this nothing of the journey changes: every service refuses a submitted journey with 409.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
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
from ecancel.notary.services.submission import case_party_record_submission

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
    """Seal and submit: the manifest is signed by the office, the case party marked submitted (which tells
    the seller, and moves the case to review once every buyer is in), and the journey frozen."""
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
        signature = manifest_sign(content, office=journey.case.office.organisation)
        case_party_record_submission(
            party_id=journey.buyer.pk,
            verification=journey.path,  # type: ignore[arg-type]
            actor=None,
            ctx=ctx,
        )
        journey.status = journey_transition(journey, "submit")
        journey.step, journey.submitted_at = steps.DONE, now
        journey.save(update_fields=["status", "step", "submitted_at", "updated_at"])
        manifest = Manifest.objects.create(
            journey=journey,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            signature=signature,
            sealed_at=now,
        )
        record_event(
            "buyers.journey.submitted",
            organisation=journey.case.office.organisation,
            obj=journey,
            data={"case": str(journey.case_id), "buyer": journey.buyer.position, "manifest_sha256": manifest.sha256},
            ctx=ctx,
        )
    return journey
