"""Every change to the filing registry: entering projects, units and filed contracts, and cancelling a filing.

Each state change locks its row, is guarded by the move tables in ``filing.transitions`` and is
audited in the same transaction, so a refused change leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as BadValue
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import FieldMessage, InvalidTransition, NotFound, Text, ValidationFailed, field_error
from ecancel.core.transitions import transition
from ecancel.filing.models import Building, BuyerParty, FiledContract, Project, Unit
from ecancel.filing.transitions import CONTRACT_MOVES, UNIT_MOVES, ContractStatus, UnitStatus
from ecancel.identity.id_numbers import IdType, mask_id_number, normalise_country_code, validate_id_number

if TYPE_CHECKING:
    from ecancel.accounts.models import User

RowId = uuid.UUID | str

# Refusals worded for the situation a person is actually in, keyed by (action, current status).
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class BuyerInput:
    """One buyer as entered for a filed contract."""

    name: str
    id_type: str
    id_number: str
    phone: str
    region: str = "中国"
    share: str = ""
    address: str = ""
    # ISO 3166 alpha-3 of a passport's issuing state, so its number is checked against that state's format.
    issuing_country: str | None = None


def validate_phone(phone: str) -> str:
    """A phone number as entered, trimmed; mainland mobiles and overseas numbers with a leading + both pass."""
    phone = phone.strip()
    if not _PHONE.match(phone):
        raise field_error("phone", _("联系电话格式不正确（6–20位数字，可带+号）"))
    return phone


def _contract_move(contract: FiledContract, action: str) -> ContractStatus:
    return transition(contract, action, CONTRACT_MOVES, ContractStatus)


def _unit_move(unit: Unit, action: str) -> UnitStatus:
    return transition(unit, action, UNIT_MOVES, UnitStatus)


def _locked_contract(contract_id: RowId) -> FiledContract:
    try:
        return FiledContract.objects.select_for_update().get(pk=contract_id)
    except (FiledContract.DoesNotExist, BadValue, ValueError, TypeError) as exc:
        raise NotFound(_("未找到该合同")) from exc


def _locked_unit(unit_id: RowId) -> Unit:
    try:
        return Unit.objects.select_for_update().get(pk=unit_id)
    except (Unit.DoesNotExist, BadValue, ValueError, TypeError) as exc:
        raise NotFound(_("未找到该房源")) from exc


def _fail(errors: dict[str, FieldMessage], summary: Text) -> None:
    if len(errors) == 1:
        (message,) = errors.values()
        raise ValidationFailed(message.text, message.legacy_en, params=message.params, fields=errors)
    if errors:
        raise ValidationFailed(summary, fields=errors)


# --- registry entry --------------------------------------------------------------------------------------------


@transaction.atomic
def project_create(
    *,
    developer: Organisation,
    name: str,
    presale_permit_no: str,
    district: str,
    address: str,
    buildings: Sequence[str] = (),
    actor: User | None,
    ctx: RequestContext,
) -> Project:
    """A development (楼盘) of one developer, with its buildings."""
    name, presale_permit_no = name.strip(), presale_permit_no.strip()
    errors: dict[str, FieldMessage] = {}
    if developer.kind != OrganisationKind.DEVELOPER:
        errors["developer"] = FieldMessage(_("楼盘必须属于开发企业"))
    if not name:
        errors["name"] = FieldMessage(_("请填写楼盘名称"))
    if not presale_permit_no:
        errors["presale_permit_no"] = FieldMessage(_("请填写预售许可证号"))
    elif Project.objects.filter(presale_permit_no=presale_permit_no).exists():
        errors["presale_permit_no"] = FieldMessage(
            _("预售许可证号「%(presale_permit_no)s」已登记在其他楼盘"), params={"presale_permit_no": presale_permit_no}
        )
    names = [b.strip() for b in buildings]
    if any(not b for b in names) or len(set(names)) != len(names):
        errors["buildings"] = FieldMessage(_("幢号不能为空或重复"))
    _fail(errors, _("楼盘信息有误，请检查后重新提交"))
    project = Project.objects.create(
        developer=developer, name=name, presale_permit_no=presale_permit_no, district=district, address=address
    )
    record_event(
        "filing.project.created",
        actor=actor,
        organisation=developer,
        obj=project,
        data={"name": name, "presale_permit_no": presale_permit_no},
        ctx=ctx,
    )
    for building_name in names:
        building_create(project=project, name=building_name, actor=actor, ctx=ctx)
    return project


@transaction.atomic
def building_create(*, project: Project, name: str, actor: User | None, ctx: RequestContext) -> Building:
    name = name.strip()
    if not name:
        raise field_error("name", _("请填写幢号"))
    if Building.objects.filter(project=project, name=name).exists():
        raise field_error(
            "name", _("楼盘「%(project_name)s」已有「%(name)s」"), params={"project_name": project.name, "name": name}
        )
    building = Building.objects.create(project=project, name=name)
    record_event(
        "filing.building.created",
        actor=actor,
        organisation=project.developer,
        obj=building,
        data={"project": str(project.pk), "name": name},
        ctx=ctx,
    )
    return building


@transaction.atomic
def unit_create(
    *,
    building: Building,
    room_no: str,
    floor: int,
    floor_area: Decimal,
    usage: str = "住宅",
    actor: User | None,
    ctx: RequestContext,
) -> Unit:
    """A unit (房源) enters the registry available for sale."""
    room_no = room_no.strip()
    errors: dict[str, FieldMessage] = {}
    if not room_no:
        errors["room_no"] = FieldMessage(_("请填写房号"))
    elif Unit.objects.filter(building=building, room_no=room_no).exists():
        errors["room_no"] = FieldMessage(
            _("「%(building)s」已有房号「%(room_no)s」"), params={"building": building, "room_no": room_no}
        )
    if floor_area <= 0:
        errors["floor_area"] = FieldMessage(_("建筑面积必须大于0"))
    _fail(errors, _("房源信息有误，请检查后重新提交"))
    unit = Unit.objects.create(building=building, room_no=room_no, floor=floor, floor_area=floor_area, usage=usage)
    record_event(
        "filing.unit.created",
        actor=actor,
        organisation=building.project.developer,
        obj=unit,
        data={"building": str(building.pk), "room_no": room_no, "floor_area": str(floor_area)},
        ctx=ctx,
    )
    return unit


# --- unit moves -------------------------------------------------------------------------------------------------


def _unit_apply(unit_id: RowId, action: str, tag: str, actor: User | None, ctx: RequestContext) -> Unit:
    unit = _locked_unit(unit_id)
    before = unit.status
    unit.status = _unit_move(unit, action)
    unit.save(update_fields=["status", "updated_at"])
    record_event(
        tag,
        actor=actor,
        organisation=unit.building.project.developer,
        obj=unit,
        data={"from": before, "to": unit.status},
        ctx=ctx,
    )
    return unit


@transaction.atomic
def unit_sign(*, unit_id: RowId, actor: User | None, ctx: RequestContext) -> Unit:
    """可售 → 已签约."""
    return _unit_apply(unit_id, "sign", "filing.unit.signed", actor, ctx)


@transaction.atomic
def unit_file(*, unit_id: RowId, actor: User | None, ctx: RequestContext) -> Unit:
    """已签约 → 已备案."""
    return _unit_apply(unit_id, "file", "filing.unit.filed", actor, ctx)


@transaction.atomic
def unit_return_to_sale(*, unit_id: RowId, actor: User | None, ctx: RequestContext) -> Unit:
    """已备案 → 可售, once the contract on it has had its filing cancelled."""
    return _unit_apply(unit_id, "return_to_sale", "filing.unit.returned_to_sale", actor, ctx)


# --- filed contracts --------------------------------------------------------------------------------------------


def _share_fraction(share: str) -> Fraction | None:
    if match := _PERCENT.match(share):
        return Fraction(Decimal(match.group(1))) / 100
    if (match := _FRACTION.match(share)) and int(match.group(2)) > 0:
        return Fraction(int(match.group(1)), int(match.group(2)))
    return None


def _buyer_errors(buyers: Sequence[BuyerInput]) -> dict[str, FieldMessage]:
    errors: dict[str, FieldMessage] = {}
    if not buyers:
        errors["buyers"] = FieldMessage(_("至少需要一名买受人"))
        return errors
    seen: set[tuple[str, str]] = set()
    for index, buyer in enumerate(buyers):
        at, position = f"buyers[{index}]", {"position": index + 1}
        if not buyer.name.strip():
            errors[f"{at}.name"] = FieldMessage(_("请填写第%(position)s位买受人的姓名"), params=position)
        if buyer.id_type not in IdType.values:
            errors[f"{at}.id_type"] = FieldMessage(_("第%(position)s位买受人的证件类型无效"), params=position)
        else:
            try:
                number = validate_id_number(buyer.id_type, buyer.id_number, issuing_country=buyer.issuing_country)
            except ValidationFailed as problem:
                errors[f"{at}.id_number"] = FieldMessage(
                    _("第%(position)s位买受人的证件号码有误：%(problem)s"), params={**position, "problem": problem}
                )
            else:
                if (buyer.id_type, number) in seen:
                    errors[f"{at}.id_number"] = FieldMessage(
                        _("第%(position)s位买受人与前面的买受人证件号码相同"), params=position
                    )
                seen.add((buyer.id_type, number))
        if not _PHONE.match(buyer.phone.strip()):
            errors[f"{at}.phone"] = FieldMessage(_("第%(position)s位买受人的联系电话格式不正确"), params=position)
        if len(buyers) > 1 and not buyer.share.strip():
            errors[f"{at}.share"] = FieldMessage(_("共有人须填写第%(position)s位买受人的份额"), params=position)
    shares = [_share_fraction(b.share) for b in buyers if b.share.strip()]
    fractions = [s for s in shares if s is not None]
    if shares and len(fractions) == len(buyers) and sum(fractions) != 1:
        errors["buyers"] = FieldMessage(_("买受人的份额合计必须为100%"))
    return errors


@transaction.atomic
def contract_file(
    *,
    seller: Organisation,
    unit_id: RowId,
    contract_no: str,
    filing_no: str,
    total_price: Decimal,
    signed_on: dt.date,
    filed_on: dt.date,
    buyers: Sequence[BuyerInput],
    payment_method: str = "一次性付款",
    actor: User | None,
    ctx: RequestContext,
) -> FiledContract:
    """Enter a signed and filed contract: the unit goes 可售 → 已签约 → 已备案 with it."""
    contract_no, filing_no = contract_no.strip(), filing_no.strip()
    errors: dict[str, FieldMessage] = {}
    if not contract_no:
        errors["contract_no"] = FieldMessage(_("请填写合同编号"))
    elif FiledContract.objects.filter(contract_no=contract_no).exists():
        errors["contract_no"] = FieldMessage(
            _("合同编号「%(contract_no)s」已存在"), params={"contract_no": contract_no}
        )
    if not filing_no:
        errors["filing_no"] = FieldMessage(_("请填写备案编号"))
    elif FiledContract.objects.filter(filing_no=filing_no).exists():
        errors["filing_no"] = FieldMessage(_("备案编号「%(filing_no)s」已存在"), params={"filing_no": filing_no})
    try:
        unit = (
            Unit.objects.select_for_update(of=("self",)).select_related("building__project").filter(pk=unit_id).first()
        )
    except (BadValue, ValueError, TypeError):
        unit = None
    if unit is None or unit.building.project.developer_id != seller.pk:
        errors["unit"] = FieldMessage(_("该房源不属于出卖人的楼盘"))
    elif unit.status != UnitStatus.AVAILABLE:
        errors["unit"] = FieldMessage(
            _("该房源当前为「%(label)s」，只有可售房源可以签约备案"), params={"label": UnitStatus(unit.status).label}
        )
    try:
        price_ok = Decimal(total_price) > 0
    except (InvalidOperation, TypeError):
        price_ok = False
    if not price_ok:
        errors["total_price"] = FieldMessage(_("总价款必须大于0"))
    if filed_on < signed_on:
        errors["filed_on"] = FieldMessage(_("备案日期不能早于签约日期"))
    if filed_on > timezone.localdate():
        errors["filed_on"] = FieldMessage(_("备案日期不能晚于今天"))
    errors.update(_buyer_errors(buyers))
    _fail(errors, _("合同信息有误，请检查后重新提交"))
    assert unit is not None

    try:
        with transaction.atomic():
            contract = FiledContract.objects.create(
                contract_no=contract_no,
                filing_no=filing_no,
                seller=seller,
                unit=unit,
                total_price=total_price,
                payment_method=payment_method,
                signed_on=signed_on,
                filed_on=filed_on,
            )
    except IntegrityError as exc:
        # Someone entered the same number between our check and our insert.
        raise ValidationFailed(
            _("合同编号或备案编号已存在，或该房源已有有效合同"),
        ) from exc
    BuyerParty.objects.bulk_create(
        BuyerParty(
            contract=contract,
            position=position,
            name=buyer.name.strip(),
            id_type=buyer.id_type,
            id_number=validate_id_number(buyer.id_type, buyer.id_number, issuing_country=buyer.issuing_country),
            id_issuing_country=normalise_country_code(buyer.issuing_country) if buyer.issuing_country else "",
            phone=buyer.phone.strip(),
            region=buyer.region.strip() or "中国",
            share=buyer.share.strip() or ("100%" if len(buyers) == 1 else ""),
            address=buyer.address.strip(),
        )
        for position, buyer in enumerate(buyers, start=1)
    )
    unit_sign(unit_id=unit.pk, actor=actor, ctx=ctx)
    unit_file(unit_id=unit.pk, actor=actor, ctx=ctx)
    record_event(
        "filing.contract.filed",
        actor=actor,
        organisation=seller,
        obj=contract,
        data={
            "contract_no": contract_no,
            "filing_no": filing_no,
            "unit": str(unit.pk),
            "buyers": [{"name": b.name, "id_number": mask_id_number(b.id_number)} for b in buyers],
        },
        ctx=ctx,
    )
    return contract


@transaction.atomic
def buyer_update_contact(
    *, buyer_id: RowId, phone: str, address: str, actor: User | None, ctx: RequestContext
) -> BuyerParty:
    """Correct a buyer's phone or address; refused once a cancellation has locked the contract."""
    try:
        contract_id = BuyerParty.objects.values_list("contract_id", flat=True).get(pk=buyer_id)
    except (BuyerParty.DoesNotExist, BadValue, ValueError, TypeError) as exc:
        raise NotFound(_("未找到该买受人")) from exc
    # Lock the contract first: the cancellation services take the same lock, so the lock check cannot go stale.
    contract = _locked_contract(contract_id)
    contract_ensure_unlocked(contract)
    buyer = BuyerParty.objects.select_for_update().get(pk=buyer_id)
    phone = validate_phone(phone)
    before = {"phone": buyer.phone, "address": buyer.address}
    buyer.phone, buyer.address = phone, address.strip()
    buyer.save(update_fields=["phone", "address", "updated_at"])
    record_event(
        "filing.buyer.contact_updated",
        actor=actor,
        organisation=contract.seller,
        obj=buyer,
        data={"before": before, "after": {"phone": buyer.phone, "address": buyer.address}},
        ctx=ctx,
    )
    return buyer


def contract_ensure_unlocked(contract: FiledContract) -> None:
    """Refuse any change to a contract that is being cancelled or whose filing is cancelled."""
    if contract.status == ContractStatus.CANCELLING:
        raise InvalidTransition(_("该合同正在办理注销，信息已锁定，不能修改"))
    if contract.status == ContractStatus.CANCELLED:
        raise InvalidTransition(_("该合同的备案已注销，不能修改"))


@transaction.atomic
def contract_start_cancellation(*, contract_id: RowId, actor: User | None, ctx: RequestContext) -> FiledContract:
    """已备案 → 注销中: from here the contract is locked until the cancellation ends either way."""
    contract = _locked_contract(contract_id)
    contract.status = _contract_move(contract, "start_cancellation")
    contract.save(update_fields=["status", "updated_at"])
    record_event(
        "filing.contract.cancellation_started",
        actor=actor,
        organisation=contract.seller,
        obj=contract,
        data={"contract_no": contract.contract_no},
        ctx=ctx,
    )
    return contract


@transaction.atomic
def contract_abandon_cancellation(
    *, contract_id: RowId, actor: User | None, ctx: RequestContext, reason: str = ""
) -> FiledContract:
    """注销中 → 已备案: the cancellation was withdrawn or refused; the filing stands."""
    contract = _locked_contract(contract_id)
    contract.status = _contract_move(contract, "abandon_cancellation")
    contract.save(update_fields=["status", "updated_at"])
    record_event(
        "filing.contract.cancellation_abandoned",
        actor=actor,
        organisation=contract.seller,
        obj=contract,
        data={"contract_no": contract.contract_no, "reason": reason},
        ctx=ctx,
    )
    return contract


@transaction.atomic
def contract_cancel_filing(
    *, contract_id: RowId, certificate_ref: str, actor: User | None, ctx: RequestContext
) -> FiledContract:
    """注销中 → 已注销 on the strength of a notarial certificate; the unit returns to sale."""
    certificate_ref = certificate_ref.strip()
    if not certificate_ref:
        raise field_error("certificate_ref", _("请提供公证书编号"))
    contract = _locked_contract(contract_id)
    contract.status = _contract_move(contract, "cancel_filing")
    contract.cancelled_at = timezone.now()
    contract.cancellation_ref = certificate_ref
    contract.save(update_fields=["status", "cancelled_at", "cancellation_ref", "updated_at"])
    record_event(
        "filing.contract.filing_cancelled",
        actor=actor,
        organisation=contract.seller,
        obj=contract,
        data={"contract_no": contract.contract_no, "filing_no": contract.filing_no, "certificate_ref": certificate_ref},
        ctx=ctx,
    )
    unit_return_to_sale(unit_id=contract.unit_id, actor=actor, ctx=ctx)
    # Purchase qualification (购房资格) lives outside ecancel; the event is what that system acts on.
    for buyer in contract.buyers.all():
        record_event(
            "filing.buyer.qualification_restored",
            actor=actor,
            organisation=contract.seller,
            obj=buyer,
            data={
                "contract_no": contract.contract_no,
                "id_type": buyer.id_type,
                "id_number": mask_id_number(buyer.id_number),
            },
            ctx=ctx,
        )
    return contract
