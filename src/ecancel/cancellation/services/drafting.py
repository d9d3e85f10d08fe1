"""The operator's edits of a draft application, from creation to abandonment."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from ecancel.accounts.actors import Actor
from ecancel.cancellation.checks import PHONE, normalised_id
from ecancel.cancellation.models import Agent, Applicant, Application, ApplicationNumberCounter, ReturnReason
from ecancel.cancellation.services.common import (
    ApplicationId,
    audit_application,
    expect_version,
    locked_application,
    notary_office_of,
    operator_move,
)
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.cancellation.uploads import check_power_of_attorney
from ecancel.core.context import RequestContext
from ecancel.core.errors import FieldMessage, InvalidTransition, Joined, NotFound, ValidationFailed, field_error
from ecancel.filing.models import FiledContract
from ecancel.filing.services import contract_abandon_cancellation
from ecancel.filing.transitions import ContractStatus
from ecancel.identity.id_numbers import IdType, mask_id_number, validate_id_number


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


def _next_number(today: dt.date) -> str:
    counter, _ = ApplicationNumberCounter.objects.select_for_update().get_or_create(year=today.year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"ZX{today.year}{counter.last:06d}"


def _open_application_refusal(application: Application) -> InvalidTransition:
    return InvalidTransition(
        gettext_lazy(
            "合同 %(application_contract_contract_no)s 已有未完结的注销申请 %(application_number)s（%(value)s）"
            "，请在该申请中继续办理"
        ),
        code="application_exists",
        params={
            "application_contract_contract_no": application.contract.contract_no,
            "application_number": application.number,
            "value": ApplicationStatus(application.status).label,
        },
    )


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
        raise NotFound(gettext_lazy("未找到该合同")) from exc
    existing = Application.objects.open().filter(contract=contract).select_related("contract").first()
    if existing is not None:
        raise _open_application_refusal(existing)
    if contract.status != ContractStatus.FILED:
        raise InvalidTransition(
            gettext_lazy("合同 %(contract_no)s 当前状态为「%(status)s」，只有已备案的合同可以申请注销"),
            params={"contract_no": contract.contract_no, "status": ContractStatus(contract.status).label},
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
    audit_application(
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
    application = locked_application(application_id, actor)
    operator_move(application, "edit")
    detail = detail.strip()
    if reason not in ReturnReason.values:
        raise field_error("reason", gettext_lazy("请从列表中选择退房原因"))
    if reason == ReturnReason.OTHER and not detail:
        raise field_error("reason_detail", gettext_lazy("退房原因选择「其他」时，请填写具体原因"))
    if len(detail) > 500:
        raise field_error("reason_detail", gettext_lazy("退房原因说明不能超过500字"))
    before = {"reason": application.reason, "detail": application.reason_detail}
    application.reason, application.reason_detail = reason, detail
    application.save(update_fields=["reason", "reason_detail", "updated_at"])
    audit_application(
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
    application = locked_application(application_id, actor)
    operator_move(application, "edit")
    errors: dict[str, FieldMessage] = {}
    total = application.contract.total_price
    if (
        not refund_amount.is_finite()
        or refund_amount < 0
        or refund_amount > total
        or refund_amount != refund_amount.quantize(Decimal("0.01"))
    ):
        errors["refund_amount"] = FieldMessage(
            gettext_lazy("退还款项应在0至合同总价款%(total)s元之间，最多两位小数"), params={"total": f"{total:,.2f}"}
        )
    refund_method = refund_method.strip()
    if not refund_method or len(refund_method) > 200:
        errors["refund_method"] = FieldMessage(gettext_lazy("请填写退款方式（200字以内）"))
    if not 1 <= refund_days <= 365:
        errors["refund_days"] = FieldMessage(gettext_lazy("退款期限应为1至365天"))
    if errors:
        raise ValidationFailed(gettext_lazy("退款约定有误，请按提示修改"), fields=errors)
    before = {
        "refund_amount": str(application.refund_amount),
        "refund_method": application.refund_method,
        "refund_days": application.refund_days,
    }
    application.refund_amount, application.refund_method = refund_amount, refund_method
    application.refund_days = refund_days
    application.save(update_fields=["refund_amount", "refund_method", "refund_days", "updated_at"])
    audit_application(
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
    application = locked_application(application_id, actor)
    operator_move(application, "edit")
    buyers = list(application.contract.buyers.all())
    by_identity = {(b.id_type, normalised_id(b.id_type, b.id_number)): b for b in buyers}
    errors: dict[str, FieldMessage] = {}
    matched: dict[uuid.UUID, ApplicantInput] = {}
    for index, entry in enumerate(applicants):
        at, position = f"applicants.{index}", {"position": index + 1}
        name = entry.name.strip()
        if entry.id_type not in IdType.values:
            errors[f"{at}.id_type"] = FieldMessage(
                gettext_lazy("第%(position)s位申请人的证件类型无效"), params=position
            )
            continue
        try:
            number = validate_id_number(entry.id_type, entry.id_number)
        except ValidationFailed as problem:
            errors[f"{at}.id_number"] = FieldMessage(
                gettext_lazy("第%(position)s位申请人的证件号码有误：%(problem)s"),
                params={**position, "problem": problem},
            )
            continue
        buyer = by_identity.get((entry.id_type, number))
        same_number = next((b for b in buyers if normalised_id(b.id_type, b.id_number) == number), None)
        if buyer is None and same_number is not None:
            errors[f"{at}.id_type"] = FieldMessage(
                gettext_lazy(
                    "第%(position)s位申请人的证件类型「%(chosen)s」与备案合同登记的「%(filed)s」不一致，"
                    "请选择合同登记的证件类型"
                ),
                params={**position, "chosen": IdType(entry.id_type).label, "filed": IdType(same_number.id_type).label},
            )
        elif buyer is None:
            errors[f"{at}.id_number"] = FieldMessage(
                gettext_lazy(
                    "第%(position)s位申请人（%(name)s，%(id_number)s）不是本合同的买受人，只有合同登记的买受人才能作为申请人"
                ),
                params={**position, "name": name, "id_number": mask_id_number(number)},
            )
        elif buyer.name != name:
            errors[f"{at}.name"] = FieldMessage(
                gettext_lazy("第%(position)s位申请人的姓名「%(name)s」与合同登记的买受人姓名「%(filed)s」不一致"),
                params={**position, "name": name, "filed": buyer.name},
            )
        elif buyer.pk in matched:
            errors[f"{at}.id_number"] = FieldMessage(
                gettext_lazy("第%(position)s位申请人与前面的申请人重复"), params=position
            )
        else:
            matched[buyer.pk] = entry
        if not PHONE.match(entry.phone.strip()):
            errors[f"{at}.phone"] = FieldMessage(
                gettext_lazy("第%(position)s位申请人的联系电话格式不正确"), params=position
            )
        if len(entry.address.strip()) > 300:
            errors[f"{at}.address"] = FieldMessage(
                gettext_lazy("第%(position)s位申请人的通讯地址不能超过300字"), params=position
            )
    missing = [b.name for b in buyers if b.pk not in matched]
    if missing and not errors:
        errors["applicants"] = FieldMessage(
            gettext_lazy("合同买受人%(names)s未列为申请人：合同的每一位买受人都必须作为申请人"),
            params={"names": Joined(missing, quoted=True)},
        )
    if errors:
        raise ValidationFailed(gettext_lazy("申请人信息有误，请按提示修改"), fields=errors)
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
    audit_application(
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
        errors["name"] = FieldMessage(gettext_lazy("请填写代理人姓名"))
    elif len(agent.name.strip()) > 100:
        errors["name"] = FieldMessage(gettext_lazy("代理人姓名不能超过100字"))
    if agent.id_type not in IdType.values:
        errors["id_type"] = FieldMessage(gettext_lazy("请选择代理人的证件类型"))
    else:
        try:
            number = validate_id_number(agent.id_type, agent.id_number)
        except ValidationFailed as problem:
            errors["id_number"] = FieldMessage(
                gettext_lazy("代理人证件号码有误：%(problem)s"), params={"problem": problem}
            )
    if not PHONE.match(agent.phone.strip()):
        errors["phone"] = FieldMessage(gettext_lazy("代理人联系电话格式不正确"))
    applicants = {str(a.pk): a for a in application.applicants.all()}
    wanted = [str(a) for a in agent.acts_for]
    represented = [applicants[a] for a in dict.fromkeys(wanted) if a in applicants]
    if not wanted:
        errors["acts_for"] = FieldMessage(gettext_lazy("请选择代理人代理的买受人"))
    elif len(represented) != len(set(wanted)):
        errors["acts_for"] = FieldMessage(gettext_lazy("被代理人只能从本申请的申请人中选择"))
    elif number and any(
        (a.id_type, normalised_id(a.id_type, a.id_number)) == (agent.id_type, number) for a in represented
    ):
        errors["acts_for"] = FieldMessage(gettext_lazy("代理人不能代理其本人"))
    if errors:
        raise ValidationFailed(gettext_lazy("代理人信息有误，请按提示修改"), fields=errors)
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
    application = locked_application(application_id, actor)
    operator_move(application, "edit")
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
    audit_application(
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
    application = locked_application(application_id, actor)
    operator_move(application, "edit")
    row = Agent.objects.filter(application=application).first()
    if row is None:
        raise InvalidTransition(gettext_lazy("本申请没有代理人"), code="no_agent")
    name = str(row.power_of_attorney.name) if row.power_of_attorney else ""
    storage = row.power_of_attorney.storage
    agent_name = row.name
    row.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))
    application.save(update_fields=["updated_at"])
    audit_application(
        "cancellation.application.agent_removed", application, actor=actor, ctx=ctx, data={"agent": agent_name}
    )
    return application


@transaction.atomic
def application_set_notary_office(
    *, application_id: ApplicationId, notary_office_id: uuid.UUID | str, actor: Actor, ctx: RequestContext
) -> Application:
    application = locked_application(application_id, actor)
    operator_move(application, "edit")
    office = notary_office_of(notary_office_id)
    before = application.notary_office.name if application.notary_office else ""
    application.notary_office = office
    application.save(update_fields=["notary_office", "updated_at"])
    audit_application(
        "cancellation.application.notary_office_set",
        application,
        actor=actor,
        ctx=ctx,
        data={"before": before, "after": office.name},
    )
    return application


@transaction.atomic
def application_abandon(
    *, application_id: ApplicationId, expected_version: int | None = None, actor: Actor, ctx: RequestContext
) -> Application:
    """作废: closes the application for good and returns the contract to 已备案."""
    application = locked_application(application_id, actor)
    expect_version(application, expected_version)
    target = operator_move(application, "abandon")
    contract = FiledContract.objects.select_for_update().get(pk=application.contract_id)
    if contract.status == ContractStatus.CANCELLING:
        contract_abandon_cancellation(contract_id=contract.pk, actor=actor.user, ctx=ctx)
    application.status = target
    application.save(update_fields=["status", "updated_at"])
    audit_application("cancellation.application.abandoned", application, actor=actor, ctx=ctx)
    return application
