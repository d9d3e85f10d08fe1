from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from django.utils import timezone

from ecancel.accounts.models import Organisation, User
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import audit_chain_extend, audit_chain_verify
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, NotFound, ValidationFailed
from ecancel.filing.models import Building, BuyerParty, FiledContract, Project, Unit
from ecancel.filing.services import (
    building_create,
    buyer_update_contact,
    contract_abandon_cancellation,
    contract_cancel_filing,
    contract_start_cancellation,
    project_create,
    unit_create,
    unit_file,
    unit_return_to_sale,
    unit_sign,
)
from ecancel.filing.transitions import ContractStatus, UnitStatus
from ecancel.identity.id_numbers import IdType, make_hk_macao_permit, make_mainland_id, make_taiwan_permit
from tests.filing.conftest import buyer, file_contract, make_unit


def tags_since(event_id: int) -> list[str]:
    return list(AuditEvent.objects.filter(id__gt=event_id).order_by("id").values_list("tag", flat=True))


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def snapshot() -> tuple[int, int, int, int, list[str]]:
    """Everything a refused registry entry must leave untouched."""
    return (
        FiledContract.objects.count(),
        BuyerParty.objects.count(),
        Project.objects.count(),
        AuditEvent.objects.count(),
        sorted(Unit.objects.values_list("status", flat=True)),
    )


# --- registry entry --------------------------------------------------------------------------------------------


def test_project_create_makes_buildings_and_audits(developer: Organisation, clerk: User, ctx: RequestContext) -> None:
    before = last_event_id()
    project = project_create(
        developer=developer,
        name=" 演示·江景名苑 ",
        presale_permit_no="中山预许字(2025)第0002号",
        district="石岐街道",
        address="中山市石岐街道演示路2号",
        buildings=["A座", "B座"],
        actor=clerk,
        ctx=ctx,
    )
    assert project.name == "演示·江景名苑"
    assert sorted(project.buildings.values_list("name", flat=True)) == ["A座", "B座"]
    assert tags_since(before) == ["filing.project.created", "filing.building.created", "filing.building.created"]
    event = AuditEvent.objects.filter(id__gt=before).order_by("id").first()
    assert (event.actor, event.organisation, event.ip) == (clerk, developer, "127.0.0.1")


def test_duplicate_presale_permit_is_a_field_error(building: Building, ctx: RequestContext) -> None:
    state = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        project_create(
            developer=building.project.developer,
            name="另一个楼盘",
            presale_permit_no=building.project.presale_permit_no,
            district="东区",
            address="x",
            actor=None,
            ctx=ctx,
        )
    assert set(refused.value.fields) == {"presale_permit_no"}
    assert "已登记" in refused.value.fields["presale_permit_no"].zh
    assert snapshot() == state


def test_project_must_belong_to_a_developer(notary_office: Organisation, ctx: RequestContext) -> None:
    with pytest.raises(ValidationFailed) as refused:
        project_create(
            developer=notary_office,
            name="楼盘",
            presale_permit_no="P-1",
            district="东区",
            address="x",
            buildings=["1幢", "1幢"],
            actor=None,
            ctx=ctx,
        )
    assert set(refused.value.fields) == {"developer", "buildings"}
    assert not Project.objects.exists()


def test_building_and_unit_duplicates_are_field_errors(building: Building, unit: Unit, ctx: RequestContext) -> None:
    with pytest.raises(ValidationFailed) as refused:
        building_create(project=building.project, name="1幢", actor=None, ctx=ctx)
    assert set(refused.value.fields) == {"name"}
    with pytest.raises(ValidationFailed) as refused:
        make_unit(building, "1201", ctx)
    assert set(refused.value.fields) == {"room_no"}
    with pytest.raises(ValidationFailed) as refused:
        unit_create(building=building, room_no="1202", floor=12, floor_area=Decimal("0"), actor=None, ctx=ctx)
    assert set(refused.value.fields) == {"floor_area"}
    assert building.units.count() == 1


def test_new_unit_is_available(unit: Unit) -> None:
    assert unit.status == UnitStatus.AVAILABLE
    assert AuditEvent.objects.filter(tag="filing.unit.created", object_id=str(unit.pk)).exists()


def test_contract_file_files_the_contract_and_the_unit(
    developer: Organisation, unit: Unit, clerk: User, ctx: RequestContext
) -> None:
    before = last_event_id()
    contract = file_contract(developer, unit, ctx, actor=clerk, contract_no=" DEMO-HT-0001 ")
    unit.refresh_from_db()
    assert (contract.status, unit.status, contract.contract_no) == (
        ContractStatus.FILED,
        UnitStatus.FILED,
        "DEMO-HT-0001",
    )
    only = contract.buyers.get()
    assert (only.position, only.share, only.region) == (1, "100%", "中国")
    assert tags_since(before) == ["filing.unit.signed", "filing.unit.filed", "filing.contract.filed"]
    filed = AuditEvent.objects.get(tag="filing.contract.filed")
    assert only.id_number not in str(filed.data), "ID numbers are masked in the audit log"
    assert audit_chain_extend() > 0 and audit_chain_verify().ok


def test_contract_file_with_co_buyers_and_non_mainland_documents(
    developer: Organisation, unit: Unit, ctx: RequestContext
) -> None:
    buyers = [
        buyer(1, share="40%"),
        buyer(2, name="陈嘉欣", id_type=IdType.HK_MACAO_PERMIT, id_number=make_hk_macao_permit("H", 1234), share="30%"),
        buyer(3, name="林志玮", id_type=IdType.TAIWAN_PERMIT, id_number=make_taiwan_permit(87654), share="30%"),
    ]
    contract = file_contract(developer, unit, ctx, buyers=buyers)
    assert [(b.position, b.name, b.share) for b in contract.buyers.all()] == [
        (1, "李玥1", "40%"),
        (2, "陈嘉欣", "30%"),
        (3, "林志玮", "30%"),
    ]


def test_passport_is_checked_against_its_issuing_country(
    developer: Organisation, unit: Unit, ctx: RequestContext
) -> None:
    smith = buyer(1, name="SMITH JOHN", id_type=IdType.PASSPORT, id_number="x12345678", region="美国")
    with pytest.raises(ValidationFailed) as refused:
        file_contract(developer, unit, ctx, buyers=[replace(smith, id_number="1234", issuing_country="USA")])
    assert set(refused.value.fields) == {"buyers[0].id_number"}
    contract = file_contract(developer, unit, ctx, buyers=[replace(smith, issuing_country="usa")])
    stored = contract.buyers.get()
    assert (stored.id_number, stored.id_issuing_country) == ("X12345678", "USA")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"contract_no": "DUP-HT"}, "contract_no"),
        ({"filing_no": "DUP-BA"}, "filing_no"),
    ],
)
def test_duplicate_numbers_are_field_errors_and_change_nothing(
    developer: Organisation, building: Building, ctx: RequestContext, changes: dict[str, str], field: str
) -> None:
    file_contract(developer, make_unit(building, "0101", ctx), ctx, contract_no="DUP-HT", filing_no="DUP-BA")
    second = make_unit(building, "0102", ctx)
    state = snapshot()
    values = {"contract_no": "NEW-HT", "filing_no": "NEW-BA", **changes}
    with pytest.raises(ValidationFailed) as refused:
        file_contract(developer, second, ctx, buyers=[buyer(2)], **values)
    assert set(refused.value.fields) == {field}
    assert "已存在" in refused.value.fields[field].zh
    assert refused.value.as_payload()["fields"][field]["message_en"].endswith("already exists")
    assert snapshot() == state


def test_both_numbers_duplicated_reports_both_fields(
    developer: Organisation, building: Building, contract: FiledContract, ctx: RequestContext
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        file_contract(
            developer,
            make_unit(building, "0201", ctx),
            ctx,
            contract_no=contract.contract_no,
            filing_no=contract.filing_no,
        )
    assert set(refused.value.fields) == {"contract_no", "filing_no"}
    assert refused.value.http_status == 422


def test_bad_buyer_id_number_is_refused_with_the_reason(
    developer: Organisation, unit: Unit, ctx: RequestContext
) -> None:
    good = make_mainland_id("442000", dt.date(1985, 6, 1), 21)
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    state = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        file_contract(developer, unit, ctx, buyers=[buyer(1), buyer(2, id_number=wrong_check)])
    # Two buyers without shares as well as the bad number.
    assert "buyers[1].id_number" in refused.value.fields
    message = refused.value.fields["buyers[1].id_number"]
    assert message.zh.startswith("第2位买受人的证件号码有误")
    assert "check" in message.en.lower()
    assert snapshot() == state


@pytest.mark.parametrize(
    ("buyers", "field"),
    [
        ([], "buyers"),
        ([buyer(1, name=" ")], "buyers[0].name"),
        ([buyer(1, id_type="driving_licence")], "buyers[0].id_type"),
        ([buyer(1, phone="12ab")], "buyers[0].phone"),
        ([buyer(1, share="50%"), buyer(1, share="50%")], "buyers[1].id_number"),
        ([buyer(1, share="60%"), buyer(2, share="30%")], "buyers"),
        ([buyer(1, share="1/3"), buyer(2, share="")], "buyers[1].share"),
    ],
)
def test_buyer_problems_are_field_errors(
    developer: Organisation, unit: Unit, ctx: RequestContext, buyers: list[object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        file_contract(developer, unit, ctx, buyers=buyers)
    assert set(refused.value.fields) == {field}
    assert not FiledContract.objects.exists()


def test_fractional_shares_adding_up_are_accepted(developer: Organisation, unit: Unit, ctx: RequestContext) -> None:
    contract = file_contract(
        developer, unit, ctx, buyers=[buyer(1, share="1/3"), buyer(2, share="1/3"), buyer(3, share="1/3")]
    )
    assert contract.buyers.count() == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total_price": Decimal("0")}, "total_price"),
        ({"filed_on": dt.date(2025, 2, 1)}, "filed_on"),
        ({"signed_on": dt.date(2025, 1, 1), "filed_on": timezone.localdate() + dt.timedelta(days=1)}, "filed_on"),
        ({"contract_no": " "}, "contract_no"),
        ({"filing_no": ""}, "filing_no"),
        ({"unit_id": uuid.uuid4()}, "unit"),
    ],
)
def test_contract_problems_are_field_errors(
    developer: Organisation, unit: Unit, ctx: RequestContext, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        file_contract(developer, unit, ctx, **changes)
    assert set(refused.value.fields) == {field}
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE


def test_unit_must_be_the_sellers_and_free(
    developer: Organisation, other_developer: Organisation, unit: Unit, contract: FiledContract, ctx: RequestContext
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        file_contract(other_developer, make_unit(unit.building, "0301", ctx), ctx, contract_no="X", filing_no="Y")
    assert "不属于出卖人" in refused.value.fields["unit"].zh
    with pytest.raises(ValidationFailed) as refused:
        file_contract(developer, unit, ctx, contract_no="X", filing_no="Y", buyers=[buyer(5)])
    assert "已备案" in refused.value.fields["unit"].zh


# --- cancellation moves -----------------------------------------------------------------------------------------


def test_full_cancellation_returns_the_unit_to_sale(
    contract: FiledContract, clerk: User, ctx: RequestContext, developer: Organisation
) -> None:
    second_buyer = BuyerParty.objects.filter(contract=contract)
    before = last_event_id()
    started = contract_start_cancellation(contract_id=contract.pk, actor=clerk, ctx=ctx)
    assert started.status == ContractStatus.CANCELLING
    done = contract_cancel_filing(
        contract_id=contract.pk, certificate_ref="(2026)粤中中证字第00012号", actor=None, ctx=ctx
    )
    contract.refresh_from_db()
    contract.unit.refresh_from_db()
    assert (done.status, contract.status, contract.unit.status) == (
        ContractStatus.CANCELLED,
        ContractStatus.CANCELLED,
        UnitStatus.AVAILABLE,
    )
    assert contract.cancelled_at is not None and contract.cancellation_ref == "(2026)粤中中证字第00012号"
    assert tags_since(before) == [
        "filing.contract.cancellation_started",
        "filing.contract.filing_cancelled",
        "filing.unit.returned_to_sale",
        *["filing.buyer.qualification_restored"] * second_buyer.count(),
    ]
    restored = AuditEvent.objects.get(tag="filing.buyer.qualification_restored")
    assert restored.data["contract_no"] == contract.contract_no
    assert "*" in restored.data["id_number"]
    # The unit can be sold again, under a new contract.
    again = file_contract(developer, contract.unit, ctx, contract_no="DEMO-HT-0002", filing_no="DEMO-BA-0002")
    assert again.status == ContractStatus.FILED
    assert audit_chain_extend() > 0 and audit_chain_verify().ok


def test_abandoning_returns_the_contract_to_filed(contract: FiledContract, ctx: RequestContext) -> None:
    contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=ctx)
    back = contract_abandon_cancellation(contract_id=contract.pk, actor=None, ctx=ctx, reason="公证处不予办理")
    assert back.status == ContractStatus.FILED
    event = AuditEvent.objects.get(tag="filing.contract.cancellation_abandoned")
    assert event.data["reason"] == "公证处不予办理"
    # It can be started again afterwards.
    assert contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=ctx).status == ContractStatus.CANCELLING


def _cancelled(contract: FiledContract, ctx: RequestContext) -> FiledContract:
    contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=ctx)
    return contract_cancel_filing(contract_id=contract.pk, certificate_ref="C-1", actor=None, ctx=ctx)


@pytest.mark.parametrize(
    ("setup", "move", "words"),
    [
        ("cancelling", "start", "已在办理注销"),
        ("cancelled", "start", "已注销"),
        ("filed", "abandon", "没有正在办理的注销"),
        ("cancelled", "abandon", "已注销"),
        ("filed", "cancel", "尚未发起注销申请"),
        ("cancelled", "cancel", "不能重复注销"),
    ],
)
def test_illegal_moves_are_refused_in_words_and_change_nothing(
    contract: FiledContract, ctx: RequestContext, setup: str, move: str, words: str
) -> None:
    if setup == "cancelling":
        contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=ctx)
    elif setup == "cancelled":
        _cancelled(contract, ctx)
    contract.refresh_from_db()
    state, events = (contract.status, contract.cancelled_at), AuditEvent.objects.count()
    with pytest.raises(InvalidTransition) as refused:
        if move == "start":
            contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=ctx)
        elif move == "abandon":
            contract_abandon_cancellation(contract_id=contract.pk, actor=None, ctx=ctx)
        else:
            contract_cancel_filing(contract_id=contract.pk, certificate_ref="C-2", actor=None, ctx=ctx)
    assert words in refused.value.zh
    assert refused.value.en and refused.value.http_status == 409
    contract.refresh_from_db()
    assert ((contract.status, contract.cancelled_at), AuditEvent.objects.count()) == (state, events)


def test_cancel_filing_needs_a_certificate(contract: FiledContract, ctx: RequestContext) -> None:
    contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=ctx)
    with pytest.raises(ValidationFailed) as refused:
        contract_cancel_filing(contract_id=contract.pk, certificate_ref="  ", actor=None, ctx=ctx)
    assert set(refused.value.fields) == {"certificate_ref"}
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELLING


@pytest.mark.parametrize("bad_id", [uuid.UUID("5b0c7e2a-1f3d-4e6a-8b9c-0d1e2f3a4b5c"), "not-a-uuid"])
def test_unknown_contract_is_not_found(db: None, ctx: RequestContext, bad_id: object) -> None:
    with pytest.raises(NotFound):
        contract_start_cancellation(contract_id=bad_id, actor=None, ctx=ctx)  # type: ignore[arg-type]


def test_unit_moves_are_guarded(unit: Unit, ctx: RequestContext) -> None:
    with pytest.raises(InvalidTransition, match="已是可售"):
        unit_return_to_sale(unit_id=unit.pk, actor=None, ctx=ctx)
    with pytest.raises(InvalidTransition, match="尚未签约"):
        unit_file(unit_id=unit.pk, actor=None, ctx=ctx)
    unit_sign(unit_id=unit.pk, actor=None, ctx=ctx)
    with pytest.raises(InvalidTransition, match="已签约"):
        unit_sign(unit_id=unit.pk, actor=None, ctx=ctx)
    with pytest.raises(InvalidTransition, match="尚未备案"):
        unit_return_to_sale(unit_id=unit.pk, actor=None, ctx=ctx)
    assert unit_file(unit_id=unit.pk, actor=None, ctx=ctx).status == UnitStatus.FILED


# --- the lock -----------------------------------------------------------------------------------------------------


def test_buyer_contact_can_be_corrected_while_filed(contract: FiledContract, clerk: User, ctx: RequestContext) -> None:
    party = contract.buyers.get()
    updated = buyer_update_contact(
        buyer_id=party.pk, phone=" +852 9123 4567 ", address="香港九龙演示道1号", actor=clerk, ctx=ctx
    )
    assert (updated.phone, updated.address) == ("+852 9123 4567", "香港九龙演示道1号")
    event = AuditEvent.objects.get(tag="filing.buyer.contact_updated")
    assert event.data["before"]["phone"] == party.phone
    with pytest.raises(ValidationFailed) as refused:
        buyer_update_contact(buyer_id=party.pk, phone="abc", address="", actor=clerk, ctx=ctx)
    assert set(refused.value.fields) == {"phone"}


@pytest.mark.parametrize("state", ["cancelling", "cancelled"])
def test_contract_under_cancellation_is_locked(contract: FiledContract, ctx: RequestContext, state: str) -> None:
    if state == "cancelling":
        contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=ctx)
    else:
        _cancelled(contract, ctx)
    party = contract.buyers.get()
    with pytest.raises(InvalidTransition) as refused:
        buyer_update_contact(buyer_id=party.pk, phone="13900000000", address="", actor=None, ctx=ctx)
    assert "不能修改" in refused.value.zh
    party.refresh_from_db()
    assert party.phone != "13900000000"
