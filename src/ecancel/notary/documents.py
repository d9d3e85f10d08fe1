"""The office's three intake documents: their data built from the case, issued and signed by the office."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ecancel.notary.models import CaseParty, NotaryCase, PartyRole, ReceivedMaterial

if TYPE_CHECKING:
    from ecancel.accounts.models import User
    from ecancel.core.context import RequestContext
    from ecancel.documents.models import StoredDocument

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


def _pages(material: ReceivedMaterial, content: bytes) -> int | None:
    if material.content_type != "application/pdf":
        return None
    try:
        return len(PdfReader(io.BytesIO(content)).pages) or None
    except PdfReadError:
        return None


def _materials(materials: list[tuple[ReceivedMaterial, bytes]]) -> list[dict[str, Any]]:
    return [
        {
            "name": material.get_kind_display(),
            "filename": material.attachment_name,
            "size": material.size,
            "sha256": material.sha256,
            "pages": _pages(material, content),
        }
        for material, content in materials
    ]


def _notes(case: NotaryCase) -> str:
    parts = [f"注销申请第 {case.application_version} 版"]
    if case.previous_case is not None:
        parts.append(f"前一版本受理编号 {case.previous_case.case_number}")
    if case.changes:
        parts.append("开发企业所列更正事项：" + "、".join(str(c.get("label", "")) for c in case.changes))
    return "；".join(parts)


def case_documents_issue(
    *,
    case: NotaryCase,
    materials: list[tuple[ReceivedMaterial, bytes]],
    actor: User | None,
    ctx: RequestContext,
) -> list[StoredDocument]:
    """终止协议公证申请表, 终止协议合同公证告知 and 收案记录, signed by the office (B-T).

    Raises ``ValidationFailed`` naming the field when the received data does not fit a document.
    """
    from ecancel.documents.services import document_issue

    parties = list(case.parties.order_by("role", "position"))
    buyers, agent = _buyers(parties), _agent(parties)
    office, seller, contract = _office(case), _seller(case), _contract(case)
    today = timezone.localdate(case.received_at)
    parties_data = {"seller": seller, "buyers": buyers, "agent": agent}
    documents: list[tuple[str, dict[str, Any]]] = [
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
    return [
        document_issue(
            kind=kind,
            data=data,
            issuer=case.office.organisation,
            subject_ref=case.subject_ref,
            actor=actor,
            ctx=ctx,
        )
        for kind, data in documents
    ]
