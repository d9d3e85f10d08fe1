"""Every change to a cancellation application, one service each.

Each locks the application row, is guarded by the move table in ``cancellation.transitions``,
saves only what it changed, is audited, and puts any message for the notary office in the
exchange outbox — all in one transaction, so a refused or failed change leaves nothing behind.

The ``application_record_*`` services apply what the notary office answered; the exchange inbox
calls them (through ``cancellation.handlers``) in the transaction that marks a message applied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.audit.services import record_event
from ecancel.cancellation import materials
from ecancel.cancellation.checks import PHONE, normalised_id, raise_unless_ready
from ecancel.cancellation.models import (
    Agent,
    Applicant,
    Application,
    ApplicationNumberCounter,
    ApplicationPush,
    PushOutcome,
    ReturnReason,
)
from ecancel.cancellation.transitions import ApplicationStatus, application_move
from ecancel.cancellation.uploads import check_power_of_attorney
from ecancel.core.context import RequestContext
from ecancel.core.errors import FieldMessage, InvalidTransition, NotFound, ValidationFailed, field_error
from ecancel.exchange.services import outbox_put
from ecancel.filing.models import FiledContract
from ecancel.filing.services import contract_abandon_cancellation, contract_start_cancellation
from ecancel.filing.transitions import ContractStatus
from ecancel.identity.id_numbers import IdType, mask_id_number, validate_id_number

if TYPE_CHECKING:
    pass

ApplicationId = uuid.UUID | str

# Refusals worded for the situation the operator is in, keyed by (action, current status).
_REFUSALS: dict[tuple[str, str], tuple[str, str]] = {
    ("edit", ApplicationStatus.PUSHED): (
        "申请已推送公证处，不能修改；如需更正，请先撤销申请",
        "The application has been pushed; revoke it first to correct it",
    ),
    ("edit", ApplicationStatus.AWAITING_BUYERS): (
        "申请已推送公证处，不能修改；如需更正，请先撤销申请",
        "The application has been pushed; revoke it first to correct it",
    ),
    ("edit", ApplicationStatus.REVOKING): (
        "申请正在撤销，请等待公证处确认撤销后再修改",
        "The revoke is waiting for the notary office; edit once it is confirmed",
    ),
    ("push", ApplicationStatus.PUSHED): (
        "申请已推送，正在等待公证处受理，不能重复推送",
        "Already pushed and waiting for the notary office",
    ),
    ("push", ApplicationStatus.AWAITING_BUYERS): (
        "申请已被公证处受理，不能重复推送；如需更正，请先撤销申请",
        "The notary office has accepted it; revoke it first to push a correction",
    ),
    ("push", ApplicationStatus.REVOKING): (
        "申请正在撤销，请等待公证处确认撤销、修改后再推送",
        "The revoke is waiting for the notary office; push again once it is confirmed",
    ),
    ("request_revoke", ApplicationStatus.DRAFT): (
        "申请尚未推送公证处，无需撤销，可直接修改",
        "The application has not been pushed; edit it directly",
    ),
    ("request_revoke", ApplicationStatus.REFUSED): (
        "公证处已不予办理，申请已可修改，无需撤销",
        "The notary office refused it; it can be edited without a revoke",
    ),
    ("request_revoke", ApplicationStatus.REVOKING): (
        "撤销申请已提交，正在等待公证处确认",
        "A revoke is already waiting for the notary office",
    ),
    ("request_revoke", ApplicationStatus.UNDER_REVIEW): (
        "全部买受人已提交认证材料，公证处正在审核，不能撤销；如需更正，请联系公证处",
        "All buyers have submitted and the notary office is reviewing; contact the office to correct anything",
    ),
    ("abandon", ApplicationStatus.PUSHED): (
        "申请已推送公证处，不能直接作废；请先撤销申请，待公证处确认后再作废",
        "The application has been pushed; revoke it and wait for the confirmation before abandoning it",
    ),
    ("abandon", ApplicationStatus.AWAITING_BUYERS): (
        "申请已推送公证处，不能直接作废；请先撤销申请，待公证处确认后再作废",
        "The application has been pushed; revoke it and wait for the confirmation before abandoning it",
    ),
    ("abandon", ApplicationStatus.REVOKING): (
        "申请正在撤销，请等待公证处确认后再作废",
        "The revoke is waiting for the notary office; abandon it once it is confirmed",
    ),
}


@dataclass(frozen=True)
class ApplicantInput:
    """One applicant as the operator entered it: identity to match the contract, contacts to keep."""

    name: str
    id_type: str
    id_number: str
    phone: str
    address: str = ""


@dataclass(frozen=True)
class AgentInput:
    name: str
    id_type: str
    id_number: str
    phone: str
    acts_for: Sequence[uuid.UUID | str]


def _move(application: Application, action: str) -> ApplicationStatus:
    try:
        return application_move(application, action)
    except InvalidTransition as refused:
        worded = _REFUSALS.get((action, application.status))
        if worded is None:
            raise
        raise InvalidTransition(*worded) from refused


def _locked(application_id: ApplicationId, actor: Actor) -> Application:
    """The application under a row lock; NotFound for anyone outside the seller's company."""
    return _application_of(application_id, seller=actor.organisation, lock=True)


def _application_of(application_id: ApplicationId, *, seller: Organisation, lock: bool = False) -> Application:
    """``seller``'s application, found by id and owner together (row-locked if asked); NotFound for any other."""
    rows = Application.objects.select_for_update(of=("self",)) if lock else Application.objects.all()
    try:
        return rows.select_related("contract", "seller", "notary_office").get(pk=application_id, seller=seller)
    except (Application.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound("未找到该注销申请", "Application not found") from exc


def _expect_version(application: Application, expected_version: int | None) -> None:
    """A request made from an older page (another tab, a slow network) must not act on a newer version."""
    if expected_version is not None and expected_version != application.version:
        raise InvalidTransition(
            f"申请已更新为第{application.version}版（您看到的是第{expected_version}版），请刷新页面后再操作",
            f"The application is now version {application.version}, not {expected_version}; reload and try again",
            code="stale_version",
        )


def _audit(
    tag: str,
    application: Application,
    *,
    actor: Actor | None,
    ctx: RequestContext,
    data: dict[str, Any] | None = None,
    actor_label: str = "",
) -> None:
    record_event(
        tag,
        actor=actor.user if actor is not None else None,
        organisation=application.seller,
        obj=application,
        data={
            "number": application.number,
            "version": application.version,
            "status": application.status,
            **(data or {}),
        },
        ctx=ctx,
        actor_label=actor_label or (str(actor) if actor is not None else ""),
    )


def _next_number(today: dt.date) -> str:
    counter, _ = ApplicationNumberCounter.objects.select_for_update().get_or_create(year=today.year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"ZX{today.year}{counter.last:06d}"


def _open_application_refusal(application: Application) -> InvalidTransition:
    return InvalidTransition(
        f"合同 {application.contract.contract_no} 已有未完结的注销申请 {application.number}"
        f"（{application.get_status_display()}），请在该申请中继续办理",
        f"Contract {application.contract.contract_no} already has an open application {application.number}",
        code="application_exists",
    )


# --- the operator's moves -------------------------------------------------------------------------------------


@transaction.atomic
def application_create(*, contract_id: uuid.UUID | str, actor: Actor, ctx: RequestContext) -> Application:
    """A draft application for a filed contract of the actor's company, applicants prefilled from its buyers."""
    try:
        contract = (
            FiledContract.objects.select_for_update()
            .select_related("seller")
            .get(pk=contract_id, seller_id=actor.organisation.pk)
        )
    except (FiledContract.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound("未找到该合同", "Contract not found") from exc
    existing = Application.objects.open().filter(contract=contract).select_related("contract").first()
    if existing is not None:
        raise _open_application_refusal(existing)
    if contract.status != ContractStatus.FILED:
        raise InvalidTransition(
            f"合同 {contract.contract_no} 当前状态为「{contract.get_status_display()}」，只有已备案的合同可以申请注销",
            f"Contract {contract.contract_no} is '{contract.status}'; only filed contracts can be cancelled",
        )
    try:
        with transaction.atomic():
            application = Application.objects.create(
                number=_next_number(timezone.localdate()),
                contract=contract,
                seller=contract.seller,
                created_by=actor.user,
                refund_amount=contract.total_price,
            )
    except IntegrityError as exc:
        # Another request opened one between our check and insert; the constraint caught it.
        existing = Application.objects.open().filter(contract=contract).select_related("contract").first()
        if existing is None:
            raise
        raise _open_application_refusal(existing) from exc
    Applicant.objects.bulk_create(
        Applicant(
            application=application,
            buyer=buyer,
            position=buyer.position,
            name=buyer.name,
            id_type=buyer.id_type,
            id_number=buyer.id_number,
            region=buyer.region,
            phone=buyer.phone,
            address=buyer.address,
        )
        for buyer in contract.buyers.all()
    )
    _audit(
        "cancellation.application.created",
        application,
        actor=actor,
        ctx=ctx,
        data={"contract": str(contract.pk), "contract_no": contract.contract_no},
    )
    return application


@transaction.atomic
def application_set_reason(
    *, application_id: ApplicationId, reason: str, detail: str = "", actor: Actor, ctx: RequestContext
) -> Application:
    """退房原因: one of the common reasons; free text required when it is 其他."""
    application = _locked(application_id, actor)
    _move(application, "edit")
    detail = detail.strip()
    if reason not in ReturnReason.values:
        raise field_error("reason", "请从列表中选择退房原因", "Choose a reason from the list")
    if reason == ReturnReason.OTHER and not detail:
        raise field_error("reason_detail", "退房原因选择「其他」时，请填写具体原因", "Describe the reason for 'other'")
    if len(detail) > 500:
        raise field_error("reason_detail", "退房原因说明不能超过500字", "The description is limited to 500 characters")
    before = {"reason": application.reason, "detail": application.reason_detail}
    application.reason, application.reason_detail = reason, detail
    application.save(update_fields=["reason", "reason_detail", "updated_at"])
    _audit(
        "cancellation.application.reason_set",
        application,
        actor=actor,
        ctx=ctx,
        data={"before": before, "after": {"reason": reason, "detail": detail}},
    )
    return application


@transaction.atomic
def application_set_refund(
    *,
    application_id: ApplicationId,
    refund_amount: Decimal,
    refund_method: str,
    refund_days: int,
    actor: Actor,
    ctx: RequestContext,
) -> Application:
    """The termination agreement's refund terms: at most the contract price, paid within a year."""
    application = _locked(application_id, actor)
    _move(application, "edit")
    errors: dict[str, FieldMessage] = {}
    total = application.contract.total_price
    if (
        not refund_amount.is_finite()
        or refund_amount < 0
        or refund_amount > total
        or refund_amount != refund_amount.quantize(Decimal("0.01"))
    ):
        errors["refund_amount"] = FieldMessage(
            f"退还款项应在0至合同总价款{total:,.2f}元之间，最多两位小数",
            f"The refund must be between 0 and the contract price {total:,.2f}, with at most 2 decimals",
        )
    refund_method = refund_method.strip()
    if not refund_method or len(refund_method) > 200:
        errors["refund_method"] = FieldMessage("请填写退款方式（200字以内）", "Enter how the refund is paid (≤200)")
    if not 1 <= refund_days <= 365:
        errors["refund_days"] = FieldMessage("退款期限应为1至365天", "The refund period must be 1 to 365 days")
    if errors:
        raise ValidationFailed("退款约定有误，请按提示修改", "The refund terms have errors", fields=errors)
    before = {
        "refund_amount": str(application.refund_amount),
        "refund_method": application.refund_method,
        "refund_days": application.refund_days,
    }
    application.refund_amount, application.refund_method = refund_amount, refund_method
    application.refund_days = refund_days
    application.save(update_fields=["refund_amount", "refund_method", "refund_days", "updated_at"])
    _audit(
        "cancellation.application.refund_set",
        application,
        actor=actor,
        ctx=ctx,
        data={
            "before": before,
            "after": {"refund_amount": str(refund_amount), "refund_method": refund_method, "refund_days": refund_days},
        },
    )
    return application


@transaction.atomic
def application_set_applicants(
    *, application_id: ApplicationId, applicants: Sequence[ApplicantInput], actor: Actor, ctx: RequestContext
) -> Application:
    """Applicants must be exactly the contract's buyers; only their contact details change here."""
    application = _locked(application_id, actor)
    _move(application, "edit")
    buyers = list(application.contract.buyers.all())
    by_identity = {(b.id_type, normalised_id(b.id_type, b.id_number)): b for b in buyers}
    errors: dict[str, FieldMessage] = {}
    matched: dict[uuid.UUID, ApplicantInput] = {}
    for index, entry in enumerate(applicants):
        at, who, who_en = f"applicants.{index}", f"第{index + 1}位申请人", f"Applicant {index + 1}"
        name = entry.name.strip()
        if entry.id_type not in IdType.values:
            errors[f"{at}.id_type"] = FieldMessage(f"{who}的证件类型无效", f"{who_en}: unknown ID document type")
            continue
        try:
            number = validate_id_number(entry.id_type, entry.id_number)
        except ValidationFailed as problem:
            errors[f"{at}.id_number"] = FieldMessage(f"{who}的证件号码有误：{problem.zh}", f"{who_en}: {problem.en}")
            continue
        buyer = by_identity.get((entry.id_type, number))
        if buyer is None:
            errors[f"{at}.id_number"] = FieldMessage(
                f"{who}（{name}，{mask_id_number(number)}）不是本合同的买受人，只有合同登记的买受人才能作为申请人",
                f"{who_en} is not a buyer on this contract; only the contract's buyers can apply",
            )
        elif buyer.name != name:
            errors[f"{at}.name"] = FieldMessage(
                f"{who}的姓名「{name}」与合同登记的买受人姓名「{buyer.name}」不一致",
                f"{who_en}'s name does not match the contract's buyer with that ID number",
            )
        elif buyer.pk in matched:
            errors[f"{at}.id_number"] = FieldMessage(f"{who}与前面的申请人重复", f"{who_en} repeats an earlier one")
        else:
            matched[buyer.pk] = entry
        if not PHONE.match(entry.phone.strip()):
            errors[f"{at}.phone"] = FieldMessage(f"{who}的联系电话格式不正确", f"{who_en}'s phone number is not valid")
        if len(entry.address.strip()) > 300:
            errors[f"{at}.address"] = FieldMessage(f"{who}的通讯地址不能超过300字", f"{who_en}'s address is too long")
    missing = [b.name for b in buyers if b.pk not in matched]
    if missing and not errors:
        errors["applicants"] = FieldMessage(
            f"合同买受人「{'」「'.join(missing)}」未列为申请人：合同的每一位买受人都必须作为申请人",
            f"Buyers {', '.join(missing)} are missing: every buyer on the contract must be an applicant",
        )
    if errors:
        raise ValidationFailed("申请人信息有误，请按提示修改", "The applicants have errors", fields=errors)
    rows = {a.buyer_id: a for a in application.applicants.all()}
    changed = []
    for buyer in buyers:
        entry = matched[buyer.pk]
        row = rows.get(buyer.pk)
        if row is None:
            row = Applicant(application=application, buyer=buyer)
        new = {
            "position": buyer.position,
            "name": buyer.name,
            "id_type": buyer.id_type,
            "id_number": buyer.id_number,
            "region": buyer.region,
            "phone": entry.phone.strip(),
            "address": entry.address.strip(),
        }
        if row._state.adding or any(getattr(row, k) != v for k, v in new.items()):
            adding = row._state.adding
            for key, value in new.items():
                setattr(row, key, value)
            row.save(update_fields=None if adding else [*new, "updated_at"])
            changed.append(buyer.name)
    application.save(update_fields=["updated_at"])
    _audit(
        "cancellation.application.applicants_set",
        application,
        actor=actor,
        ctx=ctx,
        data={"changed": changed},
    )
    return application


def _validated_agent(application: Application, agent: AgentInput) -> tuple[str, list[Applicant]]:
    errors: dict[str, FieldMessage] = {}
    number = ""
    if not agent.name.strip():
        errors["name"] = FieldMessage("请填写代理人姓名", "Enter the agent's name")
    elif len(agent.name.strip()) > 100:
        errors["name"] = FieldMessage("代理人姓名不能超过100字", "The agent's name is too long")
    if agent.id_type not in IdType.values:
        errors["id_type"] = FieldMessage("请选择代理人的证件类型", "Choose the agent's ID document type")
    else:
        try:
            number = validate_id_number(agent.id_type, agent.id_number)
        except ValidationFailed as problem:
            errors["id_number"] = FieldMessage(f"代理人证件号码有误：{problem.zh}", f"Agent's ID number: {problem.en}")
    if not PHONE.match(agent.phone.strip()):
        errors["phone"] = FieldMessage("代理人联系电话格式不正确", "The agent's phone number is not valid")
    applicants = {str(a.pk): a for a in application.applicants.all()}
    wanted = [str(a) for a in agent.acts_for]
    represented = [applicants[a] for a in dict.fromkeys(wanted) if a in applicants]
    if not wanted:
        errors["acts_for"] = FieldMessage("请选择代理人代理的买受人", "Choose whom the agent acts for")
    elif len(represented) != len(set(wanted)):
        errors["acts_for"] = FieldMessage(
            "被代理人只能从本申请的申请人中选择", "The agent can only act for this application's applicants"
        )
    elif number and any(
        (a.id_type, normalised_id(a.id_type, a.id_number)) == (agent.id_type, number) for a in represented
    ):
        errors["acts_for"] = FieldMessage("代理人不能代理其本人", "An agent cannot act for themself")
    if errors:
        raise ValidationFailed("代理人信息有误，请按提示修改", "The agent's details have errors", fields=errors)
    return number, represented


@transaction.atomic
def application_set_agent(
    *,
    application_id: ApplicationId,
    agent: AgentInput,
    power_of_attorney: bytes | None = None,
    actor: Actor,
    ctx: RequestContext,
) -> Agent:
    """Add or change the agent (代理人); a new power of attorney replaces the old one, none keeps it."""
    application = _locked(application_id, actor)
    _move(application, "edit")
    number, represented = _validated_agent(application, agent)
    checked = check_power_of_attorney(power_of_attorney) if power_of_attorney is not None else None
    row = Agent.objects.filter(application=application).first() or Agent(application=application)
    old_file = str(row.power_of_attorney.name) if row.power_of_attorney else ""
    row.name, row.id_type, row.id_number, row.phone = agent.name.strip(), agent.id_type, number, agent.phone.strip()
    if checked is not None:
        row.power_of_attorney.save(
            f"{secrets.token_hex(16)}.{checked.extension}", ContentFile(checked.content), save=False
        )
        row.power_of_attorney_type = checked.content_type
        row.power_of_attorney_sha256 = hashlib.sha256(checked.content).hexdigest()
        row.power_of_attorney_size = len(checked.content)
        storage, new_file = row.power_of_attorney.storage, str(row.power_of_attorney.name)
        if old_file:
            transaction.on_commit(lambda: storage.delete(old_file))
    try:
        row.save()
        row.acts_for.set(represented)
    except Exception:
        # The file was written before the row: don't leave it behind when the row cannot be saved.
        if checked is not None:
            storage.delete(new_file)
        raise
    application.save(update_fields=["updated_at"])
    _audit(
        "cancellation.application.agent_set",
        application,
        actor=actor,
        ctx=ctx,
        data={
            "agent": row.name,
            "id_number": mask_id_number(number),
            "acts_for": [a.name for a in represented],
            "power_of_attorney_sha256": row.power_of_attorney_sha256,
        },
    )
    return row


@transaction.atomic
def application_remove_agent(*, application_id: ApplicationId, actor: Actor, ctx: RequestContext) -> Application:
    application = _locked(application_id, actor)
    _move(application, "edit")
    row = Agent.objects.filter(application=application).first()
    if row is None:
        raise InvalidTransition("本申请没有代理人", "This application has no agent", code="no_agent")
    name = str(row.power_of_attorney.name) if row.power_of_attorney else ""
    storage = row.power_of_attorney.storage
    agent_name = row.name
    row.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))
    application.save(update_fields=["updated_at"])
    _audit("cancellation.application.agent_removed", application, actor=actor, ctx=ctx, data={"agent": agent_name})
    return application


def _notary_office(notary_office_id: uuid.UUID | str) -> Organisation:
    try:
        return Organisation.objects.get(
            pk=notary_office_id, kind=OrganisationKind.NOTARY_OFFICE, notary_office__isnull=False
        )
    except (Organisation.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise field_error("notary_office", "请从列表中选择公证处", "Choose a notary office from the list") from exc


@transaction.atomic
def application_set_notary_office(
    *, application_id: ApplicationId, notary_office_id: uuid.UUID | str, actor: Actor, ctx: RequestContext
) -> Application:
    application = _locked(application_id, actor)
    _move(application, "edit")
    office = _notary_office(notary_office_id)
    before = application.notary_office.name if application.notary_office else ""
    application.notary_office = office
    application.save(update_fields=["notary_office", "updated_at"])
    _audit(
        "cancellation.application.notary_office_set",
        application,
        actor=actor,
        ctx=ctx,
        data={"before": before, "after": office.name},
    )
    return application


def application_push(
    *,
    application_id: ApplicationId,
    notary_office_id: uuid.UUID | str | None = None,
    expected_version: int | None = None,
    actor: Actor,
    ctx: RequestContext,
) -> Application:
    """生成注销电子材料并推送公证处: sign both documents, then lock the contract and send the materials.

    Rendering and signing come first, outside the transaction, so no row is locked while they run; the
    locked step re-checks everything and refuses if the application changed meanwhile.
    """
    application = _application_of(application_id, seller=actor.organisation)
    _check_pushable(application, notary_office_id, expected_version)
    prepared = materials.prepare_documents(application, operator=str(actor))
    return _push_prepared(
        application_id=application_id,
        notary_office_id=notary_office_id,
        expected_version=expected_version,
        prepared=prepared,
        actor=actor,
        ctx=ctx,
    )


def _check_pushable(
    application: Application, notary_office_id: uuid.UUID | str | None, expected_version: int | None
) -> ApplicationStatus:
    """The push's checks, run before signing (to refuse early) and again under the lock; the status it moves to."""
    _expect_version(application, expected_version)
    target = _move(application, "push")
    if notary_office_id is not None:
        application.notary_office = _notary_office(notary_office_id)
    raise_unless_ready(application)
    return target


@transaction.atomic
def _push_prepared(
    *,
    application_id: ApplicationId,
    notary_office_id: uuid.UUID | str | None,
    expected_version: int | None,
    prepared: materials.PreparedMaterials,
    actor: Actor,
    ctx: RequestContext,
) -> Application:
    application = _locked(application_id, actor)
    target = _check_pushable(application, notary_office_id, expected_version)
    assert application.notary_office is not None
    contract = FiledContract.objects.select_for_update().get(pk=application.contract_id)
    previous = application.pushes.order_by("-version").first()
    if contract.status == ContractStatus.FILED:
        contract_start_cancellation(contract_id=contract.pk, actor=actor.user, ctx=ctx)
    elif not (contract.status == ContractStatus.CANCELLING and previous is not None):
        raise InvalidTransition(
            f"合同当前状态为「{contract.get_status_display()}」，不能推送",
            f"The contract is '{contract.status}' and cannot be pushed",
        )
    pushed_at = timezone.now()
    form, agreement = materials.store_documents(application, prepared, operator=str(actor), actor=actor.user, ctx=ctx)
    snapshot = materials.snapshot(application)
    changes = materials.changes(previous.snapshot, snapshot) if previous is not None else []
    message_type, body, attachments = materials.pushed_message(
        application,
        form=form,
        agreement=agreement,
        pushed_at=pushed_at,
        pushed_by=str(actor),
        previous_version=previous.version if previous is not None else None,
        changes=changes,
    )
    outbox_put(
        sender=application.seller,
        recipient=application.notary_office,
        message_type=message_type,
        body=body,
        attachments=attachments,
    )
    ApplicationPush.objects.create(
        application=application,
        version=application.version,
        notary_office=application.notary_office,
        pushed_by=actor.user,
        message_type=message_type,
        snapshot=snapshot,
        changes=changes,
        form_document=form,
        agreement_document=agreement,
    )
    application.applicants.update(submitted_at=None)
    application.status = target
    application.notary_message_code, application.notary_message = "", ""
    application.save(update_fields=["status", "notary_office", "notary_message_code", "notary_message", "updated_at"])
    _audit(
        "cancellation.application.pushed",
        application,
        actor=actor,
        ctx=ctx,
        data={
            "notary_office": application.notary_office.name,
            "message_type": message_type,
            "documents": {"form": form.sha256, "agreement": agreement.sha256},
            "changes": changes,
        },
    )
    return application


def _current_push(application: Application) -> ApplicationPush:
    return application.pushes.get(version=application.version)


@transaction.atomic
def application_revoke(
    *,
    application_id: ApplicationId,
    expected_version: int | None = None,
    reason: str = "",
    actor: Actor,
    ctx: RequestContext,
) -> Application:
    """撤销申请: allowed while no buyer has submitted; the notary office confirms (or refuses) by message."""
    application = _locked(application_id, actor)
    _expect_version(application, expected_version)
    target = _move(application, "request_revoke")
    submitted = list(application.applicants.filter(submitted_at__isnull=False).order_by("submitted_at"))
    push = _current_push(application)
    if submitted:
        first = submitted[0]
        when = timezone.localtime(first.submitted_at).strftime("%Y-%m-%d %H:%M") if first.submitted_at else ""
        raise InvalidTransition(
            f"买受人「{'」「'.join(a.name for a in submitted)}」已提交认证材料（{when}），不能撤销申请；"
            f"如信息有误，请联系公证处（受理号 {push.case_number}）处理",
            f"A buyer has already submitted (at {when}); the application cannot be revoked — "
            f"contact the notary office about case {push.case_number}",
            code="buyer_submitted",
        )
    reason = reason.strip()
    if len(reason) > 500:
        raise field_error("reason", "撤销原因不能超过500字", "The reason is limited to 500 characters")
    assert application.notary_office is not None
    outbox_put(
        sender=application.seller,
        recipient=push.notary_office,
        message_type="revoke.requested",
        body={
            "application_ref": str(application.pk),
            "version": application.version,
            "case_ref": push.case_id or None,
            "reason": reason,
            "requested_at": timezone.now().isoformat(),
            "requested_by": str(actor),
        },
    )
    application.status = target
    application.notary_message_code, application.notary_message = "", ""
    application.save(update_fields=["status", "notary_message_code", "notary_message", "updated_at"])
    _audit(
        "cancellation.application.revoke_requested",
        application,
        actor=actor,
        ctx=ctx,
        data={"reason": reason, "case_number": push.case_number},
    )
    return application


@transaction.atomic
def application_abandon(
    *, application_id: ApplicationId, expected_version: int | None = None, actor: Actor, ctx: RequestContext
) -> Application:
    """作废: closes the application for good and returns the contract to 已备案."""
    application = _locked(application_id, actor)
    _expect_version(application, expected_version)
    target = _move(application, "abandon")
    contract = FiledContract.objects.select_for_update().get(pk=application.contract_id)
    if contract.status == ContractStatus.CANCELLING:
        contract_abandon_cancellation(contract_id=contract.pk, actor=actor.user, ctx=ctx)
    application.status = target
    application.save(update_fields=["status", "updated_at"])
    _audit("cancellation.application.abandoned", application, actor=actor, ctx=ctx)
    return application


# --- what the notary office answered -------------------------------------------------------------------------


@dataclass(frozen=True)
class NotaryAnswer:
    """Who answered whom, about which application version: taken from a verified exchange message."""

    notary_office: Organisation
    seller: Organisation
    application_id: uuid.UUID
    version: int
    message_id: str


def _audit_answer(
    tag: str, application: Application, answer: NotaryAnswer, ctx: RequestContext, data: dict[str, Any]
) -> None:
    """An answer is audited in the notary office's name, with the message it came in."""
    _audit(
        tag,
        application,
        actor=None,
        ctx=ctx,
        data={**data, "message": answer.message_id},
        actor_label=answer.notary_office.name,
    )


def _reopen(application: Application, push: ApplicationPush, *, action: str, outcome: PushOutcome) -> None:
    """The pushed version is closed; the application is editable again as a new version, the buyers' progress cleared.

    The caller saves the application (status, version and whatever else it changed).
    """
    target = _move(application, action)
    push.outcome, push.closed_at = outcome, timezone.now()
    push.save(update_fields=["outcome", "closed_at", "updated_at"])
    application.status, application.version = target, application.version + 1
    application.applicants.update(submitted_at=None)


def _answered(answer: NotaryAnswer, ctx: RequestContext) -> tuple[Application, ApplicationPush] | None:
    """The application and its current push, or None when the answer is about an older version (kept, not applied).

    Only an answer addressed to the application's seller, from the office that version was pushed to, is
    applied: any other (another company's reference, another office) is refused and changes nothing.
    """
    application = _application_of(answer.application_id, seller=answer.seller, lock=True)
    push = application.pushes.filter(version=answer.version).first()
    pushed_to = push.notary_office_id if push is not None else application.notary_office_id
    if pushed_to is None or answer.notary_office.pk != pushed_to:
        raise InvalidTransition(
            "该公证处不是本申请推送的公证处，消息不予处理",
            "This notary office did not receive the application; message refused",
            code="wrong_notary_office",
        )
    if answer.version != application.version or push is None:
        _audit_answer(
            "cancellation.application.stale_answer_ignored",
            application,
            answer,
            ctx,
            {"answer_version": answer.version},
        )
        return None
    return application, push


@transaction.atomic
def application_record_acceptance(
    *,
    answer: NotaryAnswer,
    case_ref: str,
    case_number: str,
    handoff_url: str,
    handoff_expires_at: dt.datetime,
    accepted_at: dt.datetime,
    ctx: RequestContext,
) -> Application | None:
    """case.accepted: the QR code is ready; the application waits for the buyers."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    if push.outcome != PushOutcome.PENDING:
        raise InvalidTransition(
            f"第{push.version}版已有公证处答复（{push.get_outcome_display()}），重复受理不予处理",
            f"Version {push.version} was already answered ({push.outcome})",
        )
    # A revoke asked for before the acceptance arrived stays in progress; the case is still recorded.
    target = application.status if application.status == ApplicationStatus.REVOKING else _move(application, "accept")
    push.outcome = PushOutcome.ACCEPTED
    push.case_id, push.case_number, push.handoff_url = case_ref, case_number, handoff_url
    push.handoff_expires_at, push.accepted_at = handoff_expires_at, accepted_at
    push.save(
        update_fields=[
            "outcome",
            "case_id",
            "case_number",
            "handoff_url",
            "handoff_expires_at",
            "accepted_at",
            "updated_at",
        ]
    )
    application.status = target
    application.save(update_fields=["status", "updated_at"])
    _audit_answer(
        "cancellation.application.accepted",
        application,
        answer,
        ctx,
        {"case_number": case_number, "expires_at": handoff_expires_at.isoformat()},
    )
    return application


@transaction.atomic
def application_record_revoked(*, answer: NotaryAnswer, ctx: RequestContext) -> Application | None:
    """case.revoked: the notary office closed the case and its QR; the application is an editable draft again."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    _reopen(application, push, action="confirm_revoke", outcome=PushOutcome.REVOKED)
    application.save(update_fields=["status", "version", "updated_at"])
    _audit_answer(
        "cancellation.application.revoked",
        application,
        answer,
        ctx,
        {"revoked_version": push.version, "case_number": push.case_number},
    )
    return application


@transaction.atomic
def application_record_revoke_refused(*, answer: NotaryAnswer, reason: str, ctx: RequestContext) -> Application | None:
    """revoke.refused: the case goes on; the operator reads why."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    applicants = list(application.applicants.all())
    if applicants and all(a.submitted_at for a in applicants):
        action = "refuse_revoke_after_submission"
    elif push.outcome == PushOutcome.ACCEPTED:
        action = "refuse_revoke"
    else:
        action = "refuse_revoke_before_acceptance"
    application.status = _move(application, action)
    application.notary_message_code, application.notary_message = "revoke_refused", reason
    application.save(update_fields=["status", "notary_message_code", "notary_message", "updated_at"])
    _audit_answer("cancellation.application.revoke_refused", application, answer, ctx, {"reason": reason})
    return application


@transaction.atomic
def application_record_refusal(
    *, answer: NotaryAnswer, code: str, reason: str, ctx: RequestContext
) -> Application | None:
    """case.refused (不予办理, or materials that failed verification): editable again with the reason shown."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    _reopen(application, push, action="refuse", outcome=PushOutcome.REFUSED)
    application.notary_message_code, application.notary_message = code, reason
    application.save(update_fields=["status", "version", "notary_message_code", "notary_message", "updated_at"])
    _audit_answer(
        "cancellation.application.refused",
        application,
        answer,
        ctx,
        {"refused_version": push.version, "code": code, "reason": reason},
    )
    return application


@transaction.atomic
def applicant_record_submission(
    *, answer: NotaryAnswer, position: int, submitted_at: dt.datetime, ctx: RequestContext
) -> Applicant | None:
    """buyer.submitted: one buyer finished on the phone; from now on a revoke is refused at once."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, _push = found
    if application.status not in (ApplicationStatus.AWAITING_BUYERS, ApplicationStatus.REVOKING):
        raise InvalidTransition(
            f"申请当前状态为「{application.get_status_display()}」，不接收买受人提交进度",
            f"The application is '{application.status}' and takes no buyer progress",
        )
    applicant = application.applicants.filter(position=position).first()
    if applicant is None:
        raise InvalidTransition(f"本申请没有第{position}位申请人", f"No applicant at position {position}")
    if applicant.submitted_at is None:
        applicant.submitted_at = submitted_at
        applicant.save(update_fields=["submitted_at", "updated_at"])
    _audit_answer(
        "cancellation.applicant.submitted",
        application,
        answer,
        ctx,
        {"applicant": applicant.name, "position": position},
    )
    return applicant


@transaction.atomic
def application_record_all_submitted(
    *, answer: NotaryAnswer, submitted: Sequence[tuple[int, dt.datetime]], ctx: RequestContext
) -> Application | None:
    """buyers.submitted: every buyer is done; the notary office reviews. During a revoke, only the progress is kept."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, _push = found
    target = (
        application.status
        if application.status == ApplicationStatus.REVOKING
        else _move(application, "all_buyers_submitted")
    )
    for position, when in submitted:
        application.applicants.filter(position=position, submitted_at__isnull=True).update(submitted_at=when)
    application.status = target
    application.save(update_fields=["status", "updated_at"])
    _audit_answer(
        "cancellation.application.buyers_submitted", application, answer, ctx, {"positions": [p for p, _ in submitted]}
    )
    return application
