"""The office's three intake documents: their data built from the case, checked at intake, then rendered and
signed by the office after intake commits (``notary.services.acceptance``)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ecancel.buyers.models import Journey, JourneyUpload, UploadSlot
from ecancel.core.context import RequestContext
from ecancel.core.errors import FieldMessage, Joined, Text, ValidationFailed
from ecancel.identity.id_numbers import IdType
from ecancel.notary.models import SELLER_PAPER_KINDS, CaseParty, MaterialKind, NotaryCase, PartyRole, ReceivedMaterial

if TYPE_CHECKING:
    from ecancel.documents.services import PreparedDocument

# Shown where a field the template requires was not supplied by the sender.
NOT_GIVEN = "未提供"
INTAKE_SOURCE = "网签备案系统电子推送"
INTAKE_CLERK = "网上收案系统"


def _office(case: NotaryCase) -> dict[str, Any]:
    organisation = case.office.organisation
    return {"name": organisation.name, "address": organisation.address or NOT_GIVEN, "phone": organisation.phone}


def _seller(case: NotaryCase) -> dict[str, Any]:
    return {
        "name": case.seller_name,
        "credit_code": case.seller_credit_code,
        "legal_representative": case.seller_legal_representative,
        "address": case.seller_address or case.seller.address or NOT_GIVEN,
        "phone": case.seller_phone,
    }


def _buyers(parties: list[CaseParty]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "id_type": p.id_type,
            "id_number": p.id_number,
            "phone": p.phone,
            "address": p.address,
            "region": p.region,
            "share": p.share,
        }
        for p in parties
        if p.role == PartyRole.BUYER
    ]


def _agent(parties: list[CaseParty]) -> dict[str, Any] | None:
    agent = next((p for p in parties if p.role == PartyRole.AGENT), None)
    if agent is None:
        return None
    principals = "、".join(p.name for p in parties if p.role == PartyRole.BUYER and p.position in agent.acts_for)
    return {
        "name": agent.name,
        "id_type": agent.id_type,
        "id_number": agent.id_number,
        "phone": agent.phone,
        "principal": principals or NOT_GIVEN,
        "authority": "代为办理商品房买卖合同终止协议公证及网签备案注销相关事宜",
    }


def _contract(case: NotaryCase) -> dict[str, Any]:
    return {
        "contract_no": case.contract_no,
        "filing_no": case.filing_no,
        "signed_on": case.signed_on,
        "filed_on": case.filed_on,
        "total_price": case.total_price,
    }


def _unit(case: NotaryCase) -> dict[str, Any]:
    return {
        "project_name": case.project_name,
        "address": case.location,
        "building": case.building,
        "room_no": case.room_no,
        "floor_area": case.floor_area,
        "usage": case.usage,
    }


def material_pages(content_type: str, content: bytes) -> int | None:
    """Pages of a received PDF for the intake record (None for images or an unreadable file)."""
    if content_type != "application/pdf":
        return None
    try:
        return len(PdfReader(io.BytesIO(content)).pages) or None
    except PdfReadError:
        return None


def _materials(materials: list[tuple[ReceivedMaterial, int | None]]) -> list[dict[str, Any]]:
    return [
        {
            "name": material.get_kind_display(),
            "filename": material.attachment_name,
            "size": material.size,
            "sha256": material.sha256,
            "pages": pages,
        }
        for material, pages in materials
    ]


def _notes(case: NotaryCase) -> str:
    parts = [f"注销申请第 {case.application_version} 版"]
    if case.previous_case is not None:
        parts.append(f"前一版本受理编号 {case.previous_case.case_number}")
    if case.changes:
        parts.append("开发企业所列更正事项：" + "、".join(str(c.get("label", "")) for c in case.changes))
    return "；".join(parts)


def case_documents_data(
    case: NotaryCase, materials: list[tuple[ReceivedMaterial, int | None]]
) -> list[tuple[str, dict[str, Any]]]:
    """终止协议公证申请表, 终止协议合同公证告知 and 收案记录: each template and its data, from the case and its
    received materials (with their page counts)."""
    parties = list(case.parties.order_by("role", "position"))
    buyers, agent = _buyers(parties), _agent(parties)
    office, seller, contract = _office(case), _seller(case), _contract(case)
    today = timezone.localdate(case.received_at)
    parties_data = {"seller": seller, "buyers": buyers, "agent": agent}
    return [
        (
            "notarization_application",
            {
                "case_no": case.case_number,
                "office": office,
                **parties_data,
                "contract": contract,
                "unit": _unit(case),
                "agreement_no": case.agreement_no or case.application_no,
                "applied_on": today,
            },
        ),
        (
            "notarization_notice",
            {"case_no": case.case_number, "office": office, **parties_data, "notified_on": today},
        ),
        (
            "intake_record",
            {
                "case_no": case.case_number,
                "office": office,
                "application_no": case.application_no,
                "source": INTAKE_SOURCE,
                "received_at": case.received_at,
                "received_by": INTAKE_CLERK,
                "seller": seller,
                "buyers": buyers,
                "contract": contract,
                "materials": _materials(materials),
                "notes": _notes(case),
            },
        ),
    ]


def case_documents_check(case: NotaryCase, materials: list[tuple[ReceivedMaterial, int | None]]) -> None:
    """Raise ``ValidationFailed`` naming the field when the received data does not fit a document: checked at
    intake (cheap, no rendering), so a case whose documents cannot be made is refused rather than opened."""
    from ecancel.documents.schemas import validate_data

    for kind, data in case_documents_data(case, materials):
        validate_data(kind, data)


def case_documents_prepare(case: NotaryCase) -> list[PreparedDocument]:
    """The three documents rendered and signed by the office, nothing stored: run outside any transaction."""
    from ecancel.documents.services import document_prepare

    materials = []
    for material in case.materials.order_by("created_at"):
        with material.content.open("rb") as file:
            materials.append((material, material_pages(material.content_type, file.read())))
    return [
        document_prepare(kind=kind, data=data, issuer=case.office.organisation, subject_ref=case.subject_ref)
        for kind, data in case_documents_data(case, materials)
    ]


# --- the notarial certificate (公证书) ------------------------------------------------------------------------

CERTIFICATE_KIND = "certificate"
# The template's picture keys for the seller's papers, as received with the push.
SELLER_PAPER_IMAGES = {
    MaterialKind.BUSINESS_LICENCE: "business_licence",
    MaterialKind.LEGAL_REPRESENTATIVE_ID_FRONT: "legal_rep_id_front",
    MaterialKind.LEGAL_REPRESENTATIVE_ID_BACK: "legal_rep_id_back",
}
# The certificate's verification code is drawn when it is signed; validation before then needs a well-formed one.
CODE_DRAWN_AT_SIGNING = "A" * 12


@dataclass(frozen=True)
class CertificateInputs:
    """What the certificate is rendered from: its data and the pictures it appends."""

    data: dict[str, Any]
    images: dict[str, bytes]


def _latest_uploads(journey: Journey) -> dict[str, JourneyUpload]:
    """The upload that counts per slot: the buyer's last."""
    return {upload.slot: upload for upload in journey.uploads.order_by("at")}


def certificate_missing(case: NotaryCase) -> list[Text | FieldMessage]:
    """What the certificate would lack, read from the rows alone (no file opened): empty when it can be issued."""
    missing: list[Text | FieldMessage] = []
    received = set(case.materials.filter(kind__in=SELLER_PAPER_KINDS).values_list("kind", flat=True))
    missing.extend(MaterialKind(kind).label for kind in SELLER_PAPER_KINDS if kind not in received)
    for party in case.parties.filter(role=PartyRole.BUYER).select_related("journey").order_by("position"):
        journey = getattr(party, "journey", None)
        uploads = _latest_uploads(journey) if journey is not None else {}
        needed = [UploadSlot.DOCUMENT_FRONT]
        if party.id_type == IdType.MAINLAND_ID:
            needed.append(UploadSlot.DOCUMENT_BACK)
        missing.extend(
            FieldMessage(_("买受人%(name)s的%(slot)s"), params={"name": party.name, "slot": UploadSlot(slot).label})
            for slot in needed
            if party.submitted_at is None or slot not in uploads
        )
    return missing


def certificate_inputs(case: NotaryCase, *, ctx: RequestContext) -> CertificateInputs:
    """The certificate's data and pictures, from the case, its received materials and the buyers' uploads
    (decrypted here, each read audited). Raises ``ValidationFailed`` naming what is missing."""
    from ecancel.documents.services import verification_url
    from ecancel.identity.evidence import evidence_get

    missing = certificate_missing(case)
    if missing:
        raise ValidationFailed(_("无法出具公证书，缺少：%(missing)s"), params={"missing": Joined(missing)})
    office = case.office.organisation
    images: dict[str, bytes] = {}
    for material in case.materials.filter(kind__in=SELLER_PAPER_KINDS):
        with material.content.open("rb") as handle:
            images[SELLER_PAPER_IMAGES[MaterialKind(material.kind)]] = handle.read()
    parties = list(case.parties.order_by("role", "position").select_related("journey"))
    buyers = _buyers(parties)
    for party, buyer in zip((p for p in parties if p.role == PartyRole.BUYER), buyers, strict=True):
        uploads = _latest_uploads(party.journey)
        for slot, key in ((UploadSlot.DOCUMENT_FRONT, "id_front_image"), (UploadSlot.DOCUMENT_BACK, "id_back_image")):
            if slot in uploads:
                image = f"buyer{party.position}_{slot}"
                images[image] = evidence_get(uploads[slot].stored_name, actor=None, organisation=office, ctx=ctx)
                buyer[key] = image
    submitted = max(p.submitted_at for p in parties if p.role == PartyRole.BUYER and p.submitted_at is not None)
    assert case.approved_at is not None and case.approved_by is not None, "only an approved case is certified"
    contract = {
        "contract": _contract(case),
        "unit": _unit(case),
        "seller": _seller(case),
        "buyers": [{k: v for k, v in b.items() if not k.endswith("_image")} for b in buyers],
    }
    data = {
        "certificate_no": case.certificate_no,
        "office": _office(case),
        "notary_name": str(case.approved_by),
        "issued_on": timezone.localdate(case.approved_at),
        "agreement_no": case.agreement_no or case.application_no,
        "agreed_on": timezone.localdate(submitted),
        "buyers": buyers,
        "agent": _agent(parties),
        "contract": contract,
        "verification_code": CODE_DRAWN_AT_SIGNING,
        "verification_url": verification_url(case.certificate_no, CODE_DRAWN_AT_SIGNING),
        "self_test": case.is_self_test,
        "business_licence_image": SELLER_PAPER_IMAGES[MaterialKind.BUSINESS_LICENCE],
        "legal_representative_id_front_image": SELLER_PAPER_IMAGES[MaterialKind.LEGAL_REPRESENTATIVE_ID_FRONT],
        "legal_representative_id_back_image": SELLER_PAPER_IMAGES[MaterialKind.LEGAL_REPRESENTATIVE_ID_BACK],
    }
    return CertificateInputs(data=data, images=images)
