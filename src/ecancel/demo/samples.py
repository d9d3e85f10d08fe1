"""The demo case behind ``ecancel render_samples``: a seeded filed contract read from the filing registry,
or the built-in 演示 case of ``documents.samples`` with organisations that only lend their names to keys."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.documents.samples import DemoCase, material
from ecancel.filing.models import FiledContract
from ecancel.filing.transitions import ContractStatus

SAMPLE_NAMESPACE = uuid.UUID("1b7d35a8-3f0e-4d0c-a9a4-8a0d2f6c5e21")


def received_materials(signed: dict[str, bytes], case: DemoCase) -> list[dict[str, Any]]:
    """The intake record lists the two filing documents as actually received (their signed bytes)."""
    return [
        material("商品房买卖合同注销备案申请表", f"{case.application_no}-申请表.pdf", signed["cancellation_form"]),
        material("商品房买卖合同终止协议", f"{case.agreement_no}.pdf", signed["termination_agreement"]),
    ]


def builtin_organisation(details: dict[str, Any], kind: str) -> Organisation:
    """An organisation of the built-in case, not saved: it only lends its name to the signing key."""
    return Organisation(
        id=uuid.uuid5(SAMPLE_NAMESPACE, details["name"]),
        kind=kind,
        name=details["name"],
        address=details["address"],
        phone=details.get("phone", ""),
    )


def _read(field: Any) -> bytes | None:
    if not field:
        return None
    with field.open("rb") as handle:
        data: bytes = handle.read()
    return data


def seeded_case(contract_no: str | None) -> tuple[DemoCase, Organisation, Organisation] | None:
    """A seeded contract (``contract_no`` or the first still filed), its seller and the first notary office;
    None without seeded data."""
    contracts = FiledContract.objects.select_related("seller__developer", "unit__building__project").filter(
        seller__developer__isnull=False
    )
    if contract_no:
        contract = contracts.filter(contract_no=contract_no).first()
        if contract is None:
            raise CommandError(f"没有合同编号为 {contract_no} 的已备案合同 / no filed contract {contract_no}")
    else:
        contract = contracts.filter(status=ContractStatus.FILED).order_by("contract_no").first()
    office = NotaryOffice.objects.select_related("organisation").order_by("organisation__name").first()
    if contract is None or office is None:
        return None
    company = contract.seller.developer
    unit = contract.unit
    project = unit.building.project
    buyers = [
        {
            "name": b.name,
            "id_type": b.id_type,
            "id_number": b.id_number,
            "phone": b.phone,
            "address": b.address,
            "region": b.region,
            "share": b.share,
        }
        for b in contract.buyers.order_by("position")
    ]
    images = {
        key: content
        for key, content in (
            ("business_licence", _read(company.business_licence)),
            ("legal_rep_id_front", _read(company.legal_representative_id_front)),
            ("legal_rep_id_back", _read(company.legal_representative_id_back)),
        )
        if content is not None
    }
    case = DemoCase(
        seller={
            "name": contract.seller.name,
            "credit_code": company.credit_code,
            "legal_representative": company.legal_representative,
            "address": contract.seller.address,
            "phone": contract.seller.phone,
        },
        legal_rep_id={
            "id_type": company.legal_representative_id_type,
            "id_number": company.legal_representative_id_number,
        },
        office={
            "name": office.organisation.name,
            "address": office.organisation.address,
            "phone": office.organisation.phone,
        },
        contract={
            "contract_no": contract.contract_no,
            "filing_no": contract.filing_no,
            "signed_on": contract.signed_on.isoformat(),
            "filed_on": contract.filed_on.isoformat(),
            "total_price": str(contract.total_price),
        },
        unit={
            "project_name": project.name,
            "district": project.district,
            "address": project.address,
            "building": unit.building.name,
            "room_no": unit.room_no,
            "floor": unit.floor,
            "floor_area": str(unit.floor_area),
            "usage": unit.usage,
            "presale_permit_no": project.presale_permit_no,
        },
        buyers=buyers,
        certificate_no=f"(2026){office.certificate_prefix}第00012号",
        case_no=f"(2026){office.case_prefix}第00345号",
        application_no=f"ZX-{contract.contract_no}",
        agreement_no=f"ZZXY-{contract.contract_no}",
        refund_amount=str((contract.total_price * Decimal("0.3")).quantize(Decimal("0.01"))),
        delivery_date=None,
        images=images,
    )
    return case, contract.seller, office.organisation
