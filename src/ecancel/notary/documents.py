"""The office's three intake documents: their data built from the case, checked at intake, then rendered and
signed by the office after intake commits (``notary.services.acceptance``)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ecancel.notary.models import CaseParty, NotaryCase, PartyRole, ReceivedMaterial

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
