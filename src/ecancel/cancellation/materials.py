"""The electronic materials of a push: the two signed filing documents, the message body, and what changed.

商品房买卖合同注销备案申请表 and 商品房买卖合同终止协议 are issued by the seller company (its seal
and signature); the notary office receives them with the data they were made from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ecancel.cancellation.models import Agent, Applicant, Application, ReturnReason
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.documents.schemas import (
    Agent as DocAgent,
)
from ecancel.documents.schemas import (
    Buyer,
    CancellationFormData,
    ContractRef,
    Seller,
    TerminationAgreementData,
    UnitInfo,
)
from ecancel.documents.services import PreparedDocument, document_prepare, document_store
from ecancel.exchange import messages as wire
from ecancel.identity.id_numbers import IdType, mask_id_number

if TYPE_CHECKING:
    from ecancel.accounts.models import User
    from ecancel.documents.models import StoredDocument

FORM_KIND = "cancellation_form"
AGREEMENT_KIND = "termination_agreement"
FORM_ATTACHMENT = "cancellation-form.pdf"
AGREEMENT_ATTACHMENT = "termination-agreement.pdf"


@dataclass(frozen=True)
class SellerPaper:
    """A file of the seller company's own that the notary office appends to the certificate."""

    kind: wire.AttachmentKind
    field: str  # the DeveloperCompany file field it is read from
    title: Promise
    stem: str  # the attachment's name, before the extension of the stored file


SELLER_PAPERS = (
    SellerPaper("business_licence", "business_licence", _("营业执照"), "business-licence"),
    SellerPaper(
        "legal_representative_id_front",
        "legal_representative_id_front",
        _("法定代表人身份证件（正面）"),
        "legal-rep-id-front",
    ),
    SellerPaper(
        "legal_representative_id_back",
        "legal_representative_id_back",
        _("法定代表人身份证件（背面）"),
        "legal-rep-id-back",
    ),
)


def subject_ref(application: Application) -> str:
    return f"application:{application.pk}"


def reason_text(application: Application) -> str:
    with translation.override("zh-hans"):
        label = str(ReturnReason(application.reason).label) if application.reason else ""
    if application.reason == ReturnReason.OTHER:
        return application.reason_detail
    return f"{label}：{application.reason_detail}" if application.reason_detail else label


def _applicants(application: Application) -> list[Applicant]:
    return list(application.applicants.select_related("buyer").order_by("position"))


def _agent(application: Application) -> Agent | None:
    return Agent.objects.filter(application=application).prefetch_related("acts_for").first()


def _seller(application: Application) -> Seller:
    organisation = application.seller
    company = organisation.developer
    return Seller(
        name=organisation.name,
        credit_code=company.credit_code,
        legal_representative=company.legal_representative,
        address=organisation.address,
        phone=organisation.phone,
    )


def _contract(application: Application) -> tuple[ContractRef, UnitInfo]:
    contract = application.contract
    unit = contract.unit
    project = unit.building.project
    return (
        ContractRef(
            contract_no=contract.contract_no,
            filing_no=contract.filing_no,
            signed_on=contract.signed_on,
            filed_on=contract.filed_on,
            total_price=contract.total_price,
        ),
        UnitInfo(
            project_name=project.name,
            district=project.district,
            address=project.address,
            building=unit.building.name,
            room_no=unit.room_no,
            floor=unit.floor,
            floor_area=unit.floor_area,
            usage=unit.usage,
            presale_permit_no=project.presale_permit_no,
        ),
    )


def _buyers(applicants: list[Applicant]) -> list[Buyer]:
    return [
        Buyer.model_validate(
            {
                "name": a.name,
                "id_type": a.id_type,
                "id_number": a.id_number,
                "phone": a.phone,
                "address": a.address,
                "region": a.region,
                "share": a.buyer.share,
            }
        )
        for a in applicants
    ]


def _doc_agent(agent: Agent | None) -> DocAgent | None:
    if agent is None:
        return None
    principals = "、".join(a.name for a in sorted(agent.acts_for.all(), key=lambda a: a.position))
    return DocAgent.model_validate(
        {
            "name": agent.name,
            "id_type": agent.id_type,
            "id_number": agent.id_number,
            "phone": agent.phone,
            "principal": principals,
            "authority": "代为签署商品房买卖合同终止协议、办理终止协议公证及合同网签备案注销相关手续",
        }
    )


def release_terms(application: Application, deadline: dt.date) -> list[str]:
    """The standard clauses releasing both sides; the figures come from the application."""
    contract = application.contract
    return [
        f"双方于{contract.signed_on:%Y年%m月%d日}签订的《商品房买卖合同》（合同编号：{contract.contract_no}，"
        f"备案编号：{contract.filing_no}）自本协议生效之日起终止履行，双方在该合同项下的权利义务同时解除。",
        f"出卖人应于{deadline:%Y年%m月%d日}前，将已收取的购房款人民币{application.refund_amount:,.2f}元"
        f"以{application.refund_method}的方式退还买受人。",
        "买受人同意并授权出卖人向房地产交易管理部门申请注销该合同的网签备案；备案注销后，该房屋恢复可售状态。",
        "买受人已就该房屋办理按揭贷款或预告登记的，出卖人协助买受人办理贷款结清及预告登记、抵押预告登记的注销手续。",
        "除本协议约定外，双方就该合同的履行及解除再无其他争议。",
        "本协议经出卖人签章、买受人签字确认并经公证机构办理公证后生效。",
    ]


def form_data(application: Application, *, operator: str, today: dt.date) -> CancellationFormData:
    contract, unit = _contract(application)
    assert application.notary_office is not None
    return CancellationFormData(
        application_no=application.number,
        contract=contract,
        unit=unit,
        seller=_seller(application),
        buyers=_buyers(_applicants(application)),
        agent=_doc_agent(_agent(application)),
        reason=reason_text(application),
        notary_office=application.notary_office.name,
        operator=operator,
        applied_on=today,
    )


def agreement_number(application: Application) -> str:
    """The termination agreement's number (协议编号): one per pushed version, cited by the notary's forms."""
    return f"{application.number}-{application.version}"


def agreement_data(application: Application, *, today: dt.date) -> TerminationAgreementData:
    contract, unit = _contract(application)
    deadline = today + dt.timedelta(days=application.refund_days)
    return TerminationAgreementData(
        agreement_no=agreement_number(application),
        contract=contract,
        unit=unit,
        seller=_seller(application),
        buyers=_buyers(_applicants(application)),
        agent=_doc_agent(_agent(application)),
        reason=reason_text(application),
        refund_amount=application.refund_amount,
        refund_method=application.refund_method,
        refund_deadline=deadline,
        release_terms=release_terms(application, deadline),
        agreed_on=today,
    )


@dataclass(frozen=True)
class PreparedMaterials:
    """Both filing documents signed by the seller company, and the data they were rendered from."""

    today: dt.date
    form_data: CancellationFormData
    agreement_data: TerminationAgreementData
    form: PreparedDocument
    agreement: PreparedDocument


def prepare_documents(application: Application, *, operator: str) -> PreparedMaterials:
    """Render and sign both documents; run before the push locks anything (signing takes the longest)."""
    today = timezone.localdate()
    form = form_data(application, operator=operator, today=today)
    agreement = agreement_data(application, today=today)
    ref = subject_ref(application)
    return PreparedMaterials(
        today=today,
        form_data=form,
        agreement_data=agreement,
        form=document_prepare(kind=FORM_KIND, data=form, issuer=application.seller, subject_ref=ref),
        agreement=document_prepare(kind=AGREEMENT_KIND, data=agreement, issuer=application.seller, subject_ref=ref),
    )


def store_documents(
    application: Application, prepared: PreparedMaterials, *, operator: str, actor: User | None, ctx: RequestContext
) -> tuple[StoredDocument, StoredDocument]:
    """Store the prepared documents (new versions keep the old ones) if the locked application still reads
    as they were rendered from; otherwise refuse, and the signed files are swept later."""
    if (
        form_data(application, operator=operator, today=prepared.today) != prepared.form_data
        or agreement_data(application, today=prepared.today) != prepared.agreement_data
    ):
        raise InvalidTransition(
            _("生成材料期间申请被修改，请核对后重新推送"),
            code="changed_while_signing",
        )
    return document_store(prepared.form, actor=actor, ctx=ctx), document_store(prepared.agreement, actor=actor, ctx=ctx)


# --- what the notary office is told, and what changed ---------------------------------------------------------


def snapshot(application: Application) -> dict[str, dict[str, str]]:
    """The pushed version as labelled, displayable values, so two versions can be compared field by field."""
    with translation.override("zh-hans"):
        fields: dict[str, dict[str, str]] = {
            "reason": {"label": "退房原因", "value": reason_text(application)},
            "refund_amount": {"label": "退还款项", "value": f"{application.refund_amount:,.2f}元"},
            "refund_method": {"label": "退款方式", "value": application.refund_method},
            "refund_days": {"label": "退款期限", "value": f"{application.refund_days}天"},
            "notary_office": {
                "label": "公证处",
                "value": application.notary_office.name if application.notary_office else "",
            },
        }
        for a in _applicants(application):
            who = f"申请人{a.position}"
            fields[f"applicants.{a.position}.name"] = {"label": f"{who}姓名", "value": a.name}
            fields[f"applicants.{a.position}.id"] = {
                "label": f"{who}证件",
                "value": f"{IdType(a.id_type).label} {mask_id_number(a.id_number)}",
            }
            fields[f"applicants.{a.position}.phone"] = {"label": f"{who}联系电话", "value": a.phone}
            fields[f"applicants.{a.position}.address"] = {"label": f"{who}通讯地址", "value": a.address}
        agent = _agent(application)
        if agent is not None:
            fields["agent.name"] = {"label": "代理人姓名", "value": agent.name}
            fields["agent.id"] = {
                "label": "代理人证件",
                "value": f"{IdType(agent.id_type).label} {mask_id_number(agent.id_number)}",
            }
            fields["agent.phone"] = {"label": "代理人联系电话", "value": agent.phone}
            fields["agent.acts_for"] = {
                "label": "代理人被代理人",
                "value": "、".join(a.name for a in sorted(agent.acts_for.all(), key=lambda a: a.position)),
            }
            fields["agent.power_of_attorney"] = {
                "label": "授权委托书",
                "value": f"SHA-256 {agent.power_of_attorney_sha256[:12]}…",
            }
    return fields


def changes(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """Field by field, what differs between two snapshots (added and removed fields included)."""
    result = []
    for key in list(after) + [k for k in before if k not in after]:
        old, new = before.get(key), after.get(key)
        old_value, new_value = (old or {}).get("value", ""), (new or {}).get("value", "")
        if old_value != new_value:
            label = (new or old or {}).get("label", key)
            result.append({"field": key, "label": label, "before": old_value[:500], "after": new_value[:500]})
    return result


def _wire_text(text: Promise) -> str:
    """Messages between the two sides are worded in the source language, whatever the operator's page shows."""
    with translation.override("zh-hans"):
        return str(text)


def pushed_message(
    application: Application,
    *,
    form: StoredDocument,
    agreement: StoredDocument,
    pushed_at: dt.datetime,
    pushed_by: str,
    previous_version: int | None,
    changes: list[dict[str, str]],
) -> tuple[wire.MaterialsPushed, dict[str, bytes]]:
    """materials.pushed for the first version, materials.repushed (with the changes) for every later one."""
    contract = application.contract
    unit = contract.unit
    project = unit.building.project
    seller = application.seller
    assert application.notary_office is not None
    attachments = {FORM_ATTACHMENT: read(form), AGREEMENT_ATTACHMENT: read(agreement)}
    documents = [
        wire.DocumentRef(
            kind="application_form",
            title="商品房买卖合同注销备案申请表",
            attachment=FORM_ATTACHMENT,
            sha256=form.sha256,
        ),
        wire.DocumentRef(
            kind="termination_agreement",
            title="商品房买卖合同终止协议",
            attachment=AGREEMENT_ATTACHMENT,
            sha256=agreement.sha256,
        ),
    ]
    for paper in SELLER_PAPERS:
        stored = getattr(seller.developer, paper.field)
        name = f"{paper.stem}.{str(stored.name).rsplit('.', 1)[-1].lower()}"
        with stored.open("rb") as handle:
            attachments[name] = handle.read()
        documents.append(
            wire.DocumentRef(
                kind=paper.kind,
                title=_wire_text(paper.title),
                attachment=name,
                sha256=hashlib.sha256(attachments[name]).hexdigest(),
            )
        )
    agent_part = None
    agent = _agent(application)
    if agent is not None:
        extension = str(agent.power_of_attorney.name).rsplit(".", 1)[-1]
        name = f"power-of-attorney.{extension}"
        with agent.power_of_attorney.open("rb") as handle:
            attachments[name] = handle.read()
        documents.append(
            wire.DocumentRef(
                kind="power_of_attorney", title="授权委托书", attachment=name, sha256=agent.power_of_attorney_sha256
            )
        )
        agent_part = wire.Agent(
            name=agent.name,
            id_type=agent.id_type,
            id_number=agent.id_number,
            phone=agent.phone,
            acts_for=sorted(a.position for a in agent.acts_for.all()),
            power_of_attorney=name,
        )
    with translation.override("zh-hans"):
        reason_label = str(ReturnReason(application.reason).label)
    pushed = wire.MaterialsPushed(
        application_ref=application.pk,
        version=application.version,
        application_no=application.number,
        agreement_no=agreement_number(application),
        seller=wire.Seller(
            organisation_id=seller.pk,
            name=seller.name,
            credit_code=seller.developer.credit_code,
            legal_representative=seller.developer.legal_representative,
            address=seller.address,
            phone=seller.phone,
        ),
        contract=wire.ContractSummary(
            contract_no=contract.contract_no,
            filing_no=contract.filing_no,
            project_name=project.name,
            building=unit.building.name,
            room_no=unit.room_no,
            location=project.address,
            floor_area=unit.floor_area,
            usage=unit.usage,
            total_price=contract.total_price,
            signed_on=contract.signed_on,
            filed_on=contract.filed_on,
        ),
        applicants=[
            wire.Applicant(
                position=a.position,
                name=a.name,
                id_type=a.id_type,
                id_number=a.id_number,
                phone=a.phone,
                region=a.region,
                share=a.buyer.share,
                address=a.address,
            )
            for a in _applicants(application)
        ],
        agent=agent_part,
        reason=wire.Reason(code=application.reason, label=reason_label, text=application.reason_detail),
        notary_office_id=application.notary_office.pk,
        documents=documents,
        pushed_at=pushed_at,
        pushed_by=pushed_by,
    )
    if previous_version is None:
        return pushed, attachments
    repushed = wire.MaterialsRepushed(
        **dict(pushed), previous_version=previous_version, changes=[wire.Change(**change) for change in changes]
    )
    return repushed, attachments


def read(document: StoredDocument) -> bytes:
    with document.content.open("rb") as handle:
        return handle.read()
