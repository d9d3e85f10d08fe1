"""Notary side: the office's received cases, for its staff and its integrations."""

# No "from __future__ import annotations": ninja reads the parameter annotations at run time.

import datetime as dt
import uuid
from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import BaseModel

from ecancel.accounts.auth import NOTARY_ROLES
from ecancel.accounts.models import OrganisationKind
from ecancel.api.answers import answer_cached
from ecancel.api.auth import ApiPrincipal, require_organisation
from ecancel.audit.services import record_event
from ecancel.buyers.services import handoff_state
from ecancel.core.context import RequestContext
from ecancel.core.errors import NotFound, PermissionRefused, field_error
from ecancel.core.paging import PageNumbers, RowsOf
from ecancel.documents.models import StoredDocument
from ecancel.identity.masking import mask_id_number, mask_phone
from ecancel.notary.models import CaseParty, NotaryCase, ReceivedMaterial
from ecancel.notary.selectors import (
    CertificateState,
    case_documents,
    case_get,
    case_handoff,
    case_list,
    case_summary_rows,
    certificate_delivery,
)
from ecancel.notary.services.approval import case_approve, certificate_resend
from ecancel.notary.transitions import CaseStatus

router = Router()


class PartyOut(Schema):
    role: str
    position: int
    name: str
    id_type: str
    id_number_masked: str
    phone_masked: str
    is_mainland: bool
    acts_for: list[int]
    submitted_at: dt.datetime | None

    @staticmethod
    def resolve_id_number_masked(obj: CaseParty) -> str:
        return mask_id_number(obj.id_number)

    @staticmethod
    def resolve_phone_masked(obj: CaseParty) -> str:
        return mask_phone(obj.phone)


class CaseSummaryOut(BaseModel):
    """Read from ``case_summary_rows``: plain rows, not model instances."""

    id: uuid.UUID
    case_number: str
    status: CaseStatus
    status_label: str
    application_ref: uuid.UUID
    application_version: int
    seller: str
    contract_no: str
    applicants: list[str]
    received_at: dt.datetime


class MaterialOut(Schema):
    id: uuid.UUID
    kind: str
    attachment_name: str
    content_type: str
    sha256: str
    size: int
    signer: str
    signature_checked: bool
    received_at: dt.datetime


class DocumentOut(Schema):
    id: uuid.UUID
    kind: str
    title: str
    version: int
    sha256: str
    created_at: dt.datetime


class HandoffOut(Schema):
    state: str
    expires_at: dt.datetime
    invalidated_at: dt.datetime | None


class CaseOut(Schema):
    id: uuid.UUID
    case_number: str
    status: CaseStatus
    status_label: str
    application_ref: uuid.UUID
    application_no: str
    application_version: int
    previous_case_number: str | None
    seller: str = Field(..., alias="seller_name")
    seller_credit_code: str
    contract_no: str
    filing_no: str
    project_name: str
    building: str
    room_no: str
    location: str
    floor_area: Decimal
    total_price: Decimal
    reason: str = Field(..., alias="reason_display")
    changes: list[dict[str, str]]
    received_at: dt.datetime
    closed_at: dt.datetime | None
    parties: list[PartyOut]
    materials: list[MaterialOut]
    documents: list[DocumentOut]
    handoff: HandoffOut | None
    certificate_delivery: CertificateState | None = Field(
        None,
        description="已出证案件的公证书送达情况：发送中、开发企业已接收、被拒收、未能送达（后两者可重新发送）/ "
        "Where a certified case's certificate stands: sending, accepted, refused or failed (the last two may be sent "
        "again)",
    )

    @staticmethod
    def resolve_certificate_delivery(obj: NotaryCase) -> CertificateState | None:
        delivery = certificate_delivery(obj)
        return delivery.state if delivery is not None else None

    @staticmethod
    def resolve_status_label(obj: NotaryCase) -> str:
        return str(CaseStatus(obj.status).label)

    @staticmethod
    def resolve_previous_case_number(obj: NotaryCase) -> str | None:
        return obj.previous_case.case_number if obj.previous_case else None

    @staticmethod
    def resolve_parties(obj: NotaryCase) -> list[CaseParty]:
        return list(obj.parties.all())

    @staticmethod
    def resolve_materials(obj: NotaryCase) -> list[ReceivedMaterial]:
        return list(obj.materials.all())

    @staticmethod
    def resolve_documents(obj: NotaryCase) -> list[StoredDocument]:
        return case_documents(obj)

    @staticmethod
    def resolve_handoff(obj: NotaryCase) -> HandoffOut | None:
        token = case_handoff(obj)
        if token is None:
            return None
        return HandoffOut(
            state=handoff_state(token).value, expires_at=token.expires_at, invalidated_at=token.invalidated_at
        )


class CaseFilter(Schema):
    q: str = Field("", max_length=64, description="受理编号或合同编号")
    status: CaseStatus | None = None


@router.get("/cases", response=list[CaseSummaryOut], summary="收案列表 / Received cases")
@answer_cached
@paginate(PageNumbers)
def list_cases(request: HttpRequest, filters: Query[CaseFilter]) -> object:
    office = require_organisation(request, OrganisationKind.NOTARY_OFFICE, roles=NOTARY_ROLES).organisation
    return RowsOf(case_list(office=office, query=filters.q, status=filters.status), case_summary_rows)


def _office_case(request: HttpRequest, case_id: uuid.UUID) -> tuple[ApiPrincipal, NotaryCase]:
    """The case, found only among the caller's own office's cases (another office's case is 404)."""
    who = require_organisation(request, OrganisationKind.NOTARY_OFFICE, roles=NOTARY_ROLES)
    try:
        return who, case_get(office=who.organisation, case_id=case_id)
    except NotaryCase.DoesNotExist:
        raise NotFound(_("未找到该案件")) from None


@router.get("/cases/{case_id}", response=CaseOut, summary="案件详情 / One case")
def get_case(request: HttpRequest, case_id: uuid.UUID) -> NotaryCase:
    who, case = _office_case(request, case_id)
    record_event(
        "notary.case.viewed",
        actor=who.user,
        organisation=who.organisation,
        actor_label=who.label,
        obj=case,
        data={"personal_data": True},
        ctx=RequestContext.of(request, via="api"),
    )
    return case


class ApproveIn(Schema):
    confirmed: bool = Field(..., description="确认已核对全部材料（须为 true）/ Must be true")


@router.post("/cases/{case_id}/approve", response=CaseOut, summary="核准出证 / Approve and certify")
def approve_case(request: HttpRequest, case_id: uuid.UUID, body: ApproveIn) -> NotaryCase:
    """A 公证员's own decision, as on the review page: a system token acts for no one and cannot approve."""
    who, case = _office_case(request, case_id)
    if who.user is None:
        raise PermissionRefused(_("核准出证须由公证员本人登录后操作，系统对接令牌不能核准"))
    if not body.confirmed:
        raise field_error("confirmed", _("请确认已核对全部材料后再核准"))
    case_approve(case_id=case.pk, actor=who.user, ctx=RequestContext.of(request, via="api"))
    return case_get(office=who.organisation, case_id=case.pk)


@router.post(
    "/cases/{case_id}/certificate/resend", response=CaseOut, summary="重新发送公证书 / Send the certificate again"
)
def resend_certificate(request: HttpRequest, case_id: uuid.UUID) -> NotaryCase:
    """The same signed certificate as a new message, after the filing side refused it or it could not be delivered
    (``certificate_delivery`` refused or failed); a 公证员 or the office's administrator, as on the review page."""
    who, case = _office_case(request, case_id)
    if who.user is None:
        raise PermissionRefused(_("重新发送公证书须由公证处工作人员登录后操作，系统对接令牌不能发送"))
    certificate_resend(case_id=case.pk, actor=who.user, ctx=RequestContext.of(request, via="api"))
    return case_get(office=who.organisation, case_id=case.pk)
