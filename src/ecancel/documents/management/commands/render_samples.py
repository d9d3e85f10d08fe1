"""ecancel render_samples DIR: every document of one demo case, rendered and signed, written to DIR.

With seeded demo data (``ecancel seed_demo``) the case is a seeded filed contract, its seller and a
seeded notary office; without it, the built-in 演示 case of ``documents.samples``. Nothing is stored
in the database: this is for reviewers and for the benchmark.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from ecancel.accounts.models import NotaryOffice, Organisation, OrganisationKind
from ecancel.documents.models import DocumentKind
from ecancel.documents.render import render_document
from ecancel.documents.samples import DEMO_CASE, DemoCase, material, sample_documents
from ecancel.documents.services import DEFAULT_LEVEL, new_verification_code, sign_rendered
from ecancel.filing.models import FiledContract
from ecancel.filing.transitions import ContractStatus

SAMPLE_NAMESPACE = uuid.UUID("1b7d35a8-3f0e-4d0c-a9a4-8a0d2f6c5e21")


class Command(BaseCommand):
    help = "Render and sign every document for a demo contract into DIR (演示)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--contract", help="contract number of a seeded filed contract (default: the first)")
        parser.add_argument("--builtin", action="store_true", help="use the built-in demo case even if seeded")

    def handle(self, *args: Any, **options: Any) -> None:
        target: Path = options["directory"]
        target.mkdir(parents=True, exist_ok=True)
        seeded = None if options["builtin"] else _seeded_case(options.get("contract"))
        if seeded is None:
            case = DEMO_CASE
            seller = _builtin_org(DEMO_CASE.seller, OrganisationKind.DEVELOPER)
            office = _builtin_org(DEMO_CASE.office, OrganisationKind.NOTARY_OFFICE)
            self.stdout.write("使用内置演示数据 / built-in demo case (演示)")
        else:
            case, seller, office = seeded
            self.stdout.write(f"使用已初始化的演示合同 {case.contract['contract_no']} / seeded demo contract")

        code = new_verification_code()
        documents = sample_documents(case, verification_code=code)
        signed: dict[str, bytes] = {}
        total = 0
        for index, sample in enumerate(documents, start=1):
            data = sample.data
            if sample.template == DocumentKind.INTAKE_RECORD:
                data = dict(data, materials=_received(signed, case))
            began = time.perf_counter()
            rendered = render_document(sample.template, data, images=sample.images)
            rendered_at = time.perf_counter()
            issuer = seller if sample.issuer == "seller" else office
            level = DEFAULT_LEVEL.get(sample.template, "B-T")
            with translation.override("zh-hans"):
                title = str(DocumentKind(sample.template).label)
            pdf = sign_rendered(rendered, issuer=issuer, level=level, title=title)
            signed_at = time.perf_counter()
            signed[sample.template] = pdf
            path = target / f"{index:02d}-{sample.template}.pdf"
            path.write_bytes(pdf)
            total += len(pdf)
            self.stdout.write(
                f"{path}  {title}  {len(pdf):,} bytes  sha256 {hashlib.sha256(pdf).hexdigest()}  "
                f"{rendered.page_count} pages  render {1000 * (rendered_at - began):.0f} ms  "
                f"sign {level} {1000 * (signed_at - rendered_at):.0f} ms"
            )
        self.stdout.write(f"{len(documents)} documents, {total:,} bytes, verification code {code}")


def _received(signed: dict[str, bytes], case: DemoCase) -> list[dict[str, Any]]:
    """The intake record lists the two filing documents as actually received (their signed bytes)."""
    return [
        material("商品房买卖合同注销备案申请表", f"{case.application_no}-申请表.pdf", signed["cancellation_form"]),
        material("商品房买卖合同终止协议", f"{case.agreement_no}.pdf", signed["termination_agreement"]),
    ]


def _builtin_org(details: dict[str, Any], kind: str) -> Organisation:
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


def _seeded_case(contract_no: str | None) -> tuple[DemoCase, Organisation, Organisation] | None:
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
