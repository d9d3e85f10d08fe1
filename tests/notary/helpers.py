"""Test data for the notary side: cases made directly (fast), or received through the exchange (real)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import uuid
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import transaction
from django.utils import timezone

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.core.context import RequestContext
from ecancel.documents import samples
from ecancel.documents.render import render_document
from ecancel.documents.signing import sign_pdf
from ecancel.exchange.envelope import parse_envelope
from ecancel.exchange.models import OutboxMessage
from ecancel.exchange.services import outbox_put, relay_due
from ecancel.identity.id_numbers import IdType
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.services.acceptance import cases_accept_pending
from ecancel.notary.services.intake import format_case_number
from tests.factories import mainland_id, paper_picture
from tests.messages import typed

_sequence = itertools.count(1)
BUYER_NAMES = ("李玥", "王堃", "赵喆")


def make_case(
    office: NotaryOffice,
    seller: Organisation,
    *,
    buyers: int = 2,
    contract_no: str | None = None,
    received_at: dt.datetime | None = None,
) -> NotaryCase:
    """A case as intake leaves it, without documents: for pages and rules that don't need real PDFs."""
    n = next(_sequence)
    received = received_at or timezone.now()
    case = NotaryCase.objects.create(
        office=office,
        case_number=format_case_number(office.case_prefix, received.year, 9000 + n),
        year=received.year,
        sequence=9000 + n,
        application_ref=uuid.uuid4(),
        application_version=1,
        application_no=f"ZX2026{n:06d}",
        source_message_id=uuid.uuid4(),
        seller=seller,
        seller_name=seller.name,
        seller_credit_code="91442000MA4UCH8Q6R",
        seller_legal_representative="张建国",
        contract_no=contract_no or f"ZS2026{n:06d}",
        filing_no=f"BA2026{n:06d}",
        project_name="翠亨湾花园",
        building="3幢",
        room_no=f"{n % 30 + 1:02d}02",
        location="广东省中山市东区翠亨湾路18号",
        floor_area=Decimal("98.36"),
        usage="住宅",
        total_price=Decimal("1580000.00"),
        signed_on=dt.date(2026, 3, 2),
        filed_on=dt.date(2026, 3, 5),
        reason_code="buyer_personal",
        reason_label="买受人个人原因",
        pushed_by="黄晓珺",
        pushed_at=received,
        received_at=received,
    )
    for position in range(1, buyers + 1):
        CaseParty.objects.create(
            case=case,
            role=PartyRole.BUYER,
            position=position,
            name=f"{BUYER_NAMES[(position - 1) % 3]}{n}",
            id_type=IdType.MAINLAND_ID,
            id_number=mainland_id(100 * n + position),
            phone=f"139{n:04d}{position:04d}",
            region="中国",
        )
    return case


# --- real pushes through the exchange --------------------------------------------------------


@cache
def _rendered(template: str) -> bytes:
    sample = samples.sample(template)
    return render_document(template, sample.data, images=sample.images).pdf


@cache
def signed_filing_pdf(template: str, organisation_id: uuid.UUID, organisation_name: str) -> bytes:
    """One of the two filing documents, rendered and signed by the seller (cached: signing is slow)."""
    organisation = Organisation.objects.get(pk=organisation_id)
    assert organisation.name == organisation_name
    return sign_pdf(_rendered(template), organisation=organisation)


# The seller's own papers a push carries for the certificate: attachment name, kind and title.
SELLER_PAPERS = {
    "business-licence.png": ("business_licence", "营业执照"),
    "legal-rep-id-front.png": ("legal_representative_id_front", "法定代表人身份证件（正面）"),
    "legal-rep-id-back.png": ("legal_representative_id_back", "法定代表人身份证件（背面）"),
}


def filing_pdfs(seller: Organisation) -> dict[str, bytes]:
    """What a push carries: the two signed filing documents and the seller's papers."""
    return {
        "application-form.pdf": signed_filing_pdf("cancellation_form", seller.pk, seller.name),
        "termination-agreement.pdf": signed_filing_pdf("termination_agreement", seller.pk, seller.name),
        **{name: paper_picture((230, 220, 200 + n)) for n, name in enumerate(SELLER_PAPERS)},
    }


def push_body(
    *,
    seller: Organisation,
    office: Organisation,
    files: dict[str, bytes],
    application_ref: uuid.UUID | None = None,
    version: int = 1,
    buyers: list[dict[str, Any]] | None = None,
    agent: dict[str, Any] | None = None,
    changes: list[dict[str, str]] | None = None,
    named_office: Organisation | None = None,
    power_of_attorney: bytes | None = None,
) -> dict[str, Any]:
    """A materials.pushed (or, with ``changes``, materials.repushed) body naming ``files``."""
    applicants = buyers or [
        {
            "position": index,
            "name": buyer["name"],
            "id_type": buyer["id_type"],
            "id_number": buyer["id_number"],
            "phone": buyer["phone"],
            "region": buyer["region"],
            "share": buyer["share"],
            "address": buyer["address"],
        }
        for index, buyer in enumerate(samples.BUYERS, start=1)
    ]
    kinds = {"application-form.pdf": ("application_form", "商品房买卖合同注销备案申请表")}
    kinds["termination-agreement.pdf"] = ("termination_agreement", "商品房买卖合同终止协议")
    kinds.update(SELLER_PAPERS)
    body: dict[str, Any] = {
        "application_ref": str(application_ref or uuid.uuid4()),
        "version": version,
        "application_no": samples.APPLICATION_NO,
        "agreement_no": samples.AGREEMENT_NO,
        "seller": {
            "organisation_id": str(seller.pk),
            "name": seller.name,
            "credit_code": samples.SELLER["credit_code"],
            "legal_representative": samples.SELLER["legal_representative"],
            "address": samples.SELLER["address"],
            "phone": samples.SELLER["phone"],
        },
        "contract": {
            **{k: samples.CONTRACT[k] for k in ("contract_no", "filing_no", "signed_on", "filed_on", "total_price")},
            "project_name": samples.UNIT["project_name"],
            "building": samples.UNIT["building"],
            "room_no": samples.UNIT["room_no"],
            "location": samples.UNIT["address"],
            "floor_area": samples.UNIT["floor_area"],
            "usage": samples.UNIT["usage"],
        },
        "applicants": applicants,
        "agent": agent,
        "reason": {"code": "other", "label": "其他", "text": samples.REASON},
        "notary_office_id": str((named_office or office).pk),
        "documents": [
            {
                "kind": kinds[name][0],
                "title": kinds[name][1],
                "attachment": name,
                "sha256": hashlib.sha256(content).hexdigest(),
            }
            for name, content in files.items()
            if name in kinds
        ]
        + (
            [
                {
                    "kind": "power_of_attorney",
                    "title": "授权委托书",
                    "attachment": agent["power_of_attorney"],
                    "sha256": hashlib.sha256(power_of_attorney).hexdigest(),
                }
            ]
            if agent is not None and power_of_attorney is not None
            else []
        ),
        "pushed_at": timezone.now().isoformat(),
        "pushed_by": "黄晓珺",
    }
    if changes is not None:
        body["previous_version"] = version - 1
        body["changes"] = changes
    return body


def send(
    *,
    sender: Organisation,
    recipient: Organisation,
    message_type: str,
    body: dict[str, Any],
    attachments: dict[str, bytes] | None = None,
) -> OutboxMessage:
    """Queue a message as the sending side would, then run the relay until nothing is due."""
    with transaction.atomic():
        row = outbox_put(sender=sender, recipient=recipient, body=typed(message_type, body), attachments=attachments)
    relay_until_idle()
    return row


def relay_until_idle() -> None:
    """Relay, and accept the cases intake opened, until nothing is left: what the on-commit tasks do in a
    deployment (a test's transaction never commits, so they never run here)."""
    ctx = RequestContext.system("test")
    for _ in range(20):
        if relay_due() + cases_accept_pending(older_than=dt.timedelta(0), ctx=ctx) == 0:
            return


def sent(sender: Organisation, message_type: str) -> list[dict[str, Any]]:
    """Bodies of the messages ``sender`` queued of ``message_type``, oldest first."""
    rows = OutboxMessage.objects.filter(sender=sender, message_type=message_type).order_by("created_at")
    return [dict(parse_envelope(bytes(row.raw)).body) for row in rows]
