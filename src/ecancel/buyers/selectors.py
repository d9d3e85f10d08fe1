"""Reads for the buyers' pages, always starting from the buyer's own session (never an id from the request)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ecancel.buyers.models import DocumentOpening, Journey, JourneyCheck, JourneyUpload
from ecancel.core.sql import Loaded, read_first
from ecancel.documents.models import DocumentKind, StoredDocument
from ecancel.documents.selectors import document_latest
from ecancel.identity.models import IdentityCheck
from ecancel.notary.models import CaseParty, MaterialKind, NotaryCase, PartyRole, ReceivedMaterial

# The four documents a buyer reads (manual 7.1), in the manual's order.
DOCUMENT_KEYS = ("termination_agreement", "notarization_application", "notarization_notice", "intake_record")
TITLES: dict[str, Promise] = {
    "termination_agreement": _("终止协议"),
    "notarization_application": _("终止协议公证申请表"),
    "notarization_notice": _("终止协议合同公证告知"),
    "intake_record": _("收案记录"),
}


@dataclass(frozen=True)
class CaseDocument:
    key: str
    title: Promise
    sha256: str
    material: ReceivedMaterial | None = None
    stored: StoredDocument | None = None


def case_documents_for_buyer(case: NotaryCase) -> list[CaseDocument]:
    """The seller's termination agreement and the office's three intake documents (latest versions)."""
    found: list[CaseDocument] = []
    material = (
        ReceivedMaterial.objects.filter(case=case, kind=MaterialKind.TERMINATION_AGREEMENT)
        .order_by("-received_at")
        .first()
    )
    if material is not None:
        found.append(CaseDocument("termination_agreement", TITLES["termination_agreement"], material.sha256, material))
    for key in DOCUMENT_KEYS[1:]:
        stored = document_latest(case.subject_ref, DocumentKind(key))
        if stored is not None and stored.issuer_id == case.office.organisation_id:
            found.append(CaseDocument(key, TITLES[key], stored.sha256, stored=stored))
    return found


def case_buyers(case: NotaryCase) -> list[CaseParty]:
    return list(case.parties.filter(role=PartyRole.BUYER).select_related("journey").order_by("position"))


def case_agents(case: NotaryCase) -> list[CaseParty]:
    return list(case.parties.filter(role=PartyRole.AGENT).order_by("position"))


def journey_openings(journey: Journey) -> dict[str, str]:
    """Which documents this journey opened: key → SHA-256 of the file as served."""
    return dict(DocumentOpening.objects.filter(journey=journey).order_by("at").values_list("document", "sha256"))


def journey_current_uploads(journey: Journey) -> dict[str, JourneyUpload]:
    """The latest upload per slot."""
    latest: dict[str, JourneyUpload] = {}
    for upload in JourneyUpload.objects.filter(journey=journey).order_by("at", "created_at"):
        latest[upload.slot] = upload
    return latest


# What a waiting page's poll reads of the latest check (every 1.5 s): when it was sent and its check's status; the
# rest loads on first use. Read in SQL (``core.sql``), here and with the session (``session_resume(poll=...)``).
LATEST_CHECK_LOADS = (
    Loaded(JourneyCheck, "jc", ("at", "journey_id", "purpose", "check_run_id")),
    Loaded(IdentityCheck, "ic", ("status",)),
)


def journey_latest_check(journey: Journey, purpose: str, *, status_only: bool = False) -> JourneyCheck | None:
    """The journey's latest check of ``purpose``; ``status_only`` loads only ``LATEST_CHECK_LOADS``."""
    if status_only:
        found = read_first(
            LATEST_CHECK_LOADS,
            "FROM buyers_journeycheck jc JOIN identity_identitycheck ic ON ic.id = jc.check_run_id"
            " WHERE jc.journey_id = %s AND jc.purpose = %s ORDER BY jc.at DESC, jc.created_at DESC LIMIT 1",
            [journey.pk, purpose],
        )
        return None if found is None else latest_check_of(*found)
    checks = JourneyCheck.objects.filter(journey=journey, purpose=purpose).select_related("check_run")
    return checks.order_by("-at", "-created_at").first()


def latest_check_of(latest: Model | None, check: Model | None) -> JourneyCheck | None:
    """The latest check as ``LATEST_CHECK_LOADS`` read it, its check run attached."""
    if latest is None:
        return None
    assert isinstance(latest, JourneyCheck) and isinstance(check, IdentityCheck)
    latest.check_run = check
    return latest


def journey_checks(journey: Journey) -> QuerySet[JourneyCheck]:
    return JourneyCheck.objects.filter(journey=journey).select_related("check_run").order_by("at", "created_at")
