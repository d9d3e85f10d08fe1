"""Filing side: cancellation applications (商品房买卖合同注销-电子公证), for the developer's staff and integrations.

Every write calls one service; a refused move answers 409, bad input 422, another company's
application 404 — all in the API's one error shape. Write calls may send the ``version`` the
client last saw: a request about an older version is refused (409 ``stale_version``).

No ``from __future__ import annotations`` here: ninja resolves a paginated view's string annotations
in its own module, where ``Query[...]`` of this module's schemas cannot be found.
"""

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from ecancel.accounts.actors import Actor
from ecancel.accounts.auth import OPERATOR_ROLES
from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.api.answers import answer_cached
from ecancel.api.auth import require_organisation
from ecancel.cancellation.checks import application_checks
from ecancel.cancellation.models import (
    Applicant,
    Application,
    ApplicationPush,
    ReceivedCertificate,
    ReturnReason,
    RevokeRequest,
)
from ecancel.cancellation.selectors import (
    application_agent,
    application_certificate,
    application_delivery,
    application_get,
    application_latest_revoke,
    application_list,
    application_qr,
    notary_office_list,
)
from ecancel.cancellation.services.answers import certificate_read
from ecancel.cancellation.services.drafting import (
    AgentInput,
    ApplicantInput,
    application_abandon,
    application_create,
    application_remove_agent,
    application_set_agent,
    application_set_applicants,
    application_set_notary_office,
    application_set_reason,
    application_set_refund,
)
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import ApplicationStatus, RevokeStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import Joined, field_error
from ecancel.core.paging import PageNumbers
from ecancel.exchange.models import OutboxMessage
from ecancel.identity.id_numbers import mask_id_number
from ecancel.identity.masking import mask_phone

router = Router()


def _actor(request: HttpRequest) -> Actor:
    who = require_organisation(request, OrganisationKind.DEVELOPER, roles=OPERATOR_ROLES)
    return Actor(organisation=who.organisation, user=who.user, label=who.label)


def _ctx(request: HttpRequest) -> RequestContext:
    return RequestContext.of(request, via="api")


def _get(request: HttpRequest, application_id: uuid.UUID) -> Application:
    return application_get(seller=_actor(request).organisation, application_id=application_id)


# --- answers ----------------------------------------------------------------------------------------------------


class ApplicantOut(Schema):
    id: uuid.UUID
    position: int
    name: str
    id_type: str
    id_number_masked: str
    phone: str
    address: str
    region: str
    submitted_at: dt.datetime | None

    @staticmethod
    def resolve_id_number_masked(obj: Applicant) -> str:
        return mask_id_number(obj.id_number)


class AgentOut(Schema):
    name: str
    id_type: str
    id_number_masked: str
    phone_masked: str
    acts_for: list[int]
    power_of_attorney_type: str
    power_of_attorney_sha256: str


class CheckOut(Schema):
    code: str
    ok: bool
    label: str
    label_en: str
    problems: list[dict[str, str]]


class QrOut(Schema):
    url: str
    expires_at: dt.datetime | None
    case_number: str


class PushOut(Schema):
    version: int
    outcome: str
    outcome_label: str
    message_type: str
    notary_office: str
    case_number: str
    pushed_at: dt.datetime
    changes: list[dict[str, str]]
    form_document_sha256: str
    agreement_document_sha256: str

    @staticmethod
    def resolve_outcome_label(obj: ApplicationPush) -> str:
        return str(obj.get_outcome_display())

    @staticmethod
    def resolve_notary_office(obj: ApplicationPush) -> str:
        return obj.notary_office.name

    @staticmethod
    def resolve_pushed_at(obj: ApplicationPush) -> dt.datetime:
        return obj.created_at

    @staticmethod
    def resolve_form_document_sha256(obj: ApplicationPush) -> str:
        return obj.form_document.sha256

    @staticmethod
    def resolve_agreement_document_sha256(obj: ApplicationPush) -> str:
        return obj.agreement_document.sha256


class DeliveryOut(Schema):
    """The last message to the notary office while waiting for its answer: pending, delivered or failed."""

    message_type: str
    status: str
    attempts: int
    last_error: str
    next_attempt_at: dt.datetime
    remote_status: str


class RevokeOut(Schema):
    """The application's latest revoke request (撤销申请) and the notary office's answer to it."""

    status: RevokeStatus
    status_label: str
    version: int = Field(..., alias="push.version")
    reason: str
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    refusal_reason: str

    @staticmethod
    def resolve_status_label(obj: RevokeRequest) -> str:
        return str(obj.get_status_display())


class CertificateOut(Schema):
    """The notarial certificate that cancelled the filing; the PDF is at ``…/certificate.pdf``."""

    certificate_no: str
    notary_name: str
    issued_at: dt.datetime
    signed_by: str
    verification_code: str
    verification_url: str
    sha256: str
    size: int


class OfficeOut(Schema):
    id: uuid.UUID
    name: str


class ApplicationSummaryOut(Schema):
    id: uuid.UUID
    number: str
    status: ApplicationStatus
    status_label: str
    version: int
    contract_id: uuid.UUID
    contract_no: str = Field(..., alias="contract.contract_no")
    applicants: list[str]
    notary_office: OfficeOut | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_status_label(obj: Application) -> str:
        return str(ApplicationStatus(obj.status).label)

    @staticmethod
    def resolve_applicants(obj: Application) -> list[str]:
        return [a.name for a in obj.applicants.all()]


class ApplicationOut(ApplicationSummaryOut):
    reason: str
    reason_label: str
    reason_detail: str
    refund_amount: Decimal
    refund_method: str
    refund_days: int
    editable: bool
    notary_message_code: str
    notary_message: str
    applicants_detail: list[ApplicantOut]
    agent: AgentOut | None
    checks: list[CheckOut]
    qr: QrOut | None
    delivery: DeliveryOut | None
    revoke: RevokeOut | None
    certificate: CertificateOut | None
    pushes: list[PushOut]

    @staticmethod
    def resolve_editable(obj: Application) -> bool:
        return obj.is_editable

    @staticmethod
    def resolve_applicants_detail(obj: Application) -> list[Applicant]:
        return list(obj.applicants.all())

    @staticmethod
    def resolve_agent(obj: Application) -> dict[str, object] | None:
        agent = application_agent(obj)
        if agent is None:
            return None
        return {
            "name": agent.name,
            "id_type": agent.id_type,
            "id_number_masked": mask_id_number(agent.id_number),
            "phone_masked": mask_phone(agent.phone),
            "acts_for": sorted(a.position for a in agent.acts_for.all()),
            "power_of_attorney_type": agent.power_of_attorney_type,
            "power_of_attorney_sha256": agent.power_of_attorney_sha256,
        }

    @staticmethod
    def resolve_checks(obj: Application) -> list[dict[str, object]]:
        if not obj.is_editable:
            return []
        return [
            {
                "code": c.code,
                "ok": c.ok,
                "label": c.title,
                "label_en": c.en,
                "problems": [p.as_payload() for p in c.problems],
            }
            for c in application_checks(obj)
        ]

    @staticmethod
    def resolve_qr(obj: Application) -> dict[str, object] | None:
        push = application_qr(obj)
        if push is None:
            return None
        return {"url": push.handoff_url, "expires_at": push.handoff_expires_at, "case_number": push.case_number}

    @staticmethod
    def resolve_delivery(obj: Application) -> OutboxMessage | None:
        return application_delivery(obj)

    @staticmethod
    def resolve_revoke(obj: Application) -> RevokeRequest | None:
        return application_latest_revoke(obj)

    @staticmethod
    def resolve_certificate(obj: Application) -> ReceivedCertificate | None:
        return application_certificate(obj)

    @staticmethod
    def resolve_pushes(obj: Application) -> list[ApplicationPush]:
        return list(obj.pushes.all())


def _fresh(request: HttpRequest, application: Application) -> Application:
    """The application read again after a change, with everything the answer shows."""
    return _get(request, application.pk)


def _change(
    request: HttpRequest, application_id: uuid.UUID, service: Callable[..., object], **arguments: object
) -> Application:
    """One write: scoped to the caller's company first (another company's application is 404), then one service."""
    application = _get(request, application_id)
    service(application_id=application.pk, **arguments, actor=_actor(request), ctx=_ctx(request))
    return _fresh(request, application)


# --- requests ---------------------------------------------------------------------------------------------------


class CreateIn(Schema):
    contract_id: uuid.UUID


class VersionIn(Schema):
    version: int | None = Field(None, ge=1, description="客户端看到的版本；与当前版本不符时拒绝（409）")


class ReasonIn(Schema):
    reason: ReturnReason
    detail: str = Field("", max_length=500)


class RefundIn(Schema):
    refund_amount: Decimal = Field(..., ge=0, max_digits=14, decimal_places=2)
    refund_method: str = Field(..., max_length=200)
    refund_days: int = Field(..., ge=1, le=365)


class ApplicantIn(Schema):
    name: str = Field(..., max_length=100)
    id_type: str = Field(..., max_length=32)
    id_number: str = Field(..., max_length=32)
    phone: str = Field(..., max_length=20)
    address: str = Field("", max_length=300)


class ApplicantsIn(Schema):
    applicants: list[ApplicantIn] = Field(..., max_length=20)


class AgentIn(Schema):
    name: str = Field(..., max_length=100)
    id_type: str = Field(..., max_length=32)
    id_number: str = Field(..., max_length=32)
    phone: str = Field(..., max_length=20)
    acts_for: list[int] = Field(..., description="被代理的申请人顺序号（position）")
    power_of_attorney_base64: str | None = Field(
        None, description="授权委托书（PDF/JPEG/PNG，≤10MB）的 Base64；不传则保留已上传的文件"
    )


class NotaryOfficeIn(Schema):
    notary_office_id: uuid.UUID


class PushIn(VersionIn):
    notary_office_id: uuid.UUID | None = None


class RevokeIn(VersionIn):
    reason: str = Field("", max_length=500)


class ApplicationFilter(Schema):
    q: str = Field("", max_length=100, description="申请编号、合同编号、申请人姓名、房号或楼盘名称")
    status: ApplicationStatus | None = None


# --- routes -----------------------------------------------------------------------------------------------------


@router.get("/notary-offices", response=list[OfficeOut], summary="可选择的公证处 / Notary offices")
def list_notary_offices(request: HttpRequest) -> list[Organisation]:
    _actor(request)
    return list(notary_office_list())


@router.get("/applications", response=list[ApplicationSummaryOut], summary="注销申请列表 / Applications")
@paginate(PageNumbers)
def list_applications(request: HttpRequest, filters: Query[ApplicationFilter]) -> object:
    return application_list(seller=_actor(request).organisation, query=filters.q, status=filters.status)


@router.post("/applications", response={201: ApplicationOut}, summary="新建注销申请 / Create an application")
def create_application(request: HttpRequest, payload: CreateIn) -> Status[Application]:
    application = application_create(contract_id=payload.contract_id, actor=_actor(request), ctx=_ctx(request))
    return Status(201, _fresh(request, application))


@router.get("/applications/{application_id}", response=ApplicationOut, summary="注销申请详情 / One application")
@answer_cached
def get_application(request: HttpRequest, application_id: uuid.UUID) -> Application:
    return _get(request, application_id)


@router.get("/applications/{application_id}/checks", response=list[CheckOut], summary="推送前检查 / Pre-push checks")
def get_checks(request: HttpRequest, application_id: uuid.UUID) -> list[dict[str, object]]:
    return ApplicationOut.resolve_checks(_get(request, application_id))


@router.put("/applications/{application_id}/reason", response=ApplicationOut, summary="退房原因 / Reason")
def set_reason(request: HttpRequest, application_id: uuid.UUID, payload: ReasonIn) -> Application:
    return _change(
        request,
        application_id,
        application_set_reason,
        reason=payload.reason,
        detail=payload.detail,
    )


@router.put("/applications/{application_id}/refund", response=ApplicationOut, summary="退款约定 / Refund terms")
def set_refund(request: HttpRequest, application_id: uuid.UUID, payload: RefundIn) -> Application:
    return _change(
        request,
        application_id,
        application_set_refund,
        refund_amount=payload.refund_amount,
        refund_method=payload.refund_method,
        refund_days=payload.refund_days,
    )


@router.put("/applications/{application_id}/applicants", response=ApplicationOut, summary="申请人信息 / Applicants")
def set_applicants(request: HttpRequest, application_id: uuid.UUID, payload: ApplicantsIn) -> Application:
    return _change(
        request,
        application_id,
        application_set_applicants,
        applicants=[ApplicantInput(**a.dict()) for a in payload.applicants],
    )


@router.put("/applications/{application_id}/agent", response=ApplicationOut, summary="代理人 / Agent")
def set_agent(request: HttpRequest, application_id: uuid.UUID, payload: AgentIn) -> Application:
    application = _get(request, application_id)
    by_position = {a.position: a.pk for a in application.applicants.all()}
    unknown = [p for p in payload.acts_for if p not in by_position]
    if unknown:
        raise field_error("acts_for", _("没有顺序号为 %(positions)s 的申请人"), params={"positions": Joined(unknown)})
    document = None
    if payload.power_of_attorney_base64 is not None:
        try:
            document = base64.b64decode(payload.power_of_attorney_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise field_error("power_of_attorney_base64", _("授权委托书不是有效的Base64编码")) from exc
    application_set_agent(
        application_id=application.pk,
        agent=AgentInput(
            name=payload.name,
            id_type=payload.id_type,
            id_number=payload.id_number,
            phone=payload.phone,
            acts_for=[by_position[p] for p in payload.acts_for],
        ),
        power_of_attorney=document,
        actor=_actor(request),
        ctx=_ctx(request),
    )
    return _fresh(request, application)


@router.delete("/applications/{application_id}/agent", response=ApplicationOut, summary="删除代理人 / Remove agent")
def remove_agent(request: HttpRequest, application_id: uuid.UUID) -> Application:
    return _change(request, application_id, application_remove_agent)


@router.put("/applications/{application_id}/notary-office", response=ApplicationOut, summary="选择公证处")
def set_notary_office(request: HttpRequest, application_id: uuid.UUID, payload: NotaryOfficeIn) -> Application:
    return _change(
        request,
        application_id,
        application_set_notary_office,
        notary_office_id=payload.notary_office_id,
    )


@router.post("/applications/{application_id}/push", response=ApplicationOut, summary="生成注销电子材料并推送公证处")
def push(request: HttpRequest, application_id: uuid.UUID, payload: PushIn) -> Application:
    return _change(
        request,
        application_id,
        application_push,
        notary_office_id=payload.notary_office_id,
        expected_version=payload.version,
    )


@router.post("/applications/{application_id}/revoke", response=ApplicationOut, summary="撤销申请 / Revoke")
def revoke(request: HttpRequest, application_id: uuid.UUID, payload: RevokeIn) -> Application:
    return _change(
        request,
        application_id,
        application_revoke,
        expected_version=payload.version,
        reason=payload.reason,
    )


@router.get(
    "/applications/{application_id}/certificate.pdf",
    response={200: None},
    summary="下载公证书 / Download the notarial certificate",
)
def get_certificate(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    application = _get(request, application_id)
    certificate, content = certificate_read(application, actor=_actor(request), ctx=_ctx(request))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="certificate-{application.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Certificate-SHA256"] = certificate.sha256
    return response


@router.post("/applications/{application_id}/abandon", response=ApplicationOut, summary="作废 / Abandon")
def abandon(request: HttpRequest, application_id: uuid.UUID, payload: VersionIn) -> Application:
    return _change(
        request,
        application_id,
        application_abandon,
        expected_version=payload.version,
    )
