"""Creating and filling in an application: the rules, through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.checks import application_checks
from ecancel.cancellation.models import Agent, Applicant, Application
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
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, NotFound, ValidationFailed
from ecancel.filing.models import FiledContract
from ecancel.filing.transitions import ContractStatus
from ecancel.identity.id_numbers import IdType
from tests.cancellation.conftest import pdf_bytes, png_bytes
from tests.factories import FiledContractFactory, UserFactory, contract_with_buyers, mainland_id


def inputs(application: Application, **overrides: dict[str, str]) -> list[ApplicantInput]:
    """The applicants as the page would send them back, with per-position overrides."""
    return [
        ApplicantInput(
            **{
                "name": a.name,
                "id_type": a.id_type,
                "id_number": a.id_number,
                "phone": a.phone,
                "address": a.address,
                **overrides.get(str(a.position), {}),
            }
        )
        for a in application.applicants.order_by("position")
    ]


# --- create -----------------------------------------------------------------------------------------------------


def test_create_prefills_applicants_from_the_contract(application: Application, contract: FiledContract) -> None:
    assert application.status == ApplicationStatus.DRAFT
    assert application.version == 1
    assert application.number.startswith("ZX")
    assert application.seller_id == contract.seller_id
    assert application.refund_amount == contract.total_price
    buyers = list(contract.buyers.order_by("position"))
    applicants = list(application.applicants.order_by("position"))
    assert [(a.buyer_id, a.name, a.id_number, a.phone) for a in applicants] == [
        (b.pk, b.name, b.id_number, b.phone) for b in buyers
    ]
    event = AuditEvent.objects.get(tag="cancellation.application.created")
    assert event.object_id == str(application.pk)
    assert event.ip == "127.0.0.1"
    # Creating does not lock the contract: pushing does.
    contract.refresh_from_db()
    assert contract.status == ContractStatus.FILED


def test_numbers_are_sequential(developer: Organisation, actor: Actor, ctx: RequestContext) -> None:
    first = application_create(contract_id=contract_with_buyers(1, seller=developer).pk, actor=actor, ctx=ctx)
    second = application_create(contract_id=contract_with_buyers(1, seller=developer).pk, actor=actor, ctx=ctx)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


def test_second_open_application_is_refused_naming_the_first(
    application: Application, contract: FiledContract, actor: Actor, ctx: RequestContext
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        application_create(contract_id=contract.pk, actor=actor, ctx=ctx)
    assert application.number in refused.value.zh
    assert refused.value.code == "application_exists"
    assert Application.objects.count() == 1


def test_database_allows_one_open_application_per_contract(application: Application) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            number="ZX-DUP",
            contract=application.contract,
            seller=application.seller,
            refund_amount=Decimal(1),
        )


def test_abandoned_application_frees_the_contract(
    application: Application, contract: FiledContract, actor: Actor, ctx: RequestContext
) -> None:
    application_abandon(application_id=application.pk, actor=actor, ctx=ctx)
    again = application_create(contract_id=contract.pk, actor=actor, ctx=ctx)
    assert again.pk != application.pk
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ABANDONED


def test_another_companys_contract_is_not_found(
    other_developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    theirs = contract_with_buyers(1, seller=other_developer)
    with pytest.raises(NotFound):
        application_create(contract_id=theirs.pk, actor=actor, ctx=ctx)
    assert not Application.objects.exists()


@pytest.mark.parametrize("status", [ContractStatus.CANCELLING, ContractStatus.CANCELLED])
def test_only_filed_contracts(developer: Organisation, actor: Actor, ctx: RequestContext, status: str) -> None:
    contract = FiledContractFactory(seller=developer, status=status)
    with pytest.raises(InvalidTransition) as refused:
        application_create(contract_id=contract.pk, actor=actor, ctx=ctx)
    assert "只有已备案的合同" in refused.value.zh


# --- reason and refund -----------------------------------------------------------------------------------------


def test_reason_from_the_list(application: Application, actor: Actor, ctx: RequestContext) -> None:
    application_set_reason(application_id=application.pk, reason="loan_refused", actor=actor, ctx=ctx)
    application.refresh_from_db()
    assert application.reason_label == "贷款审批未通过"


def test_other_needs_free_text(application: Application, actor: Actor, ctx: RequestContext) -> None:
    with pytest.raises(ValidationFailed) as refused:
        application_set_reason(application_id=application.pk, reason="other", detail="  ", actor=actor, ctx=ctx)
    assert "reason_detail" in refused.value.fields
    application_set_reason(application_id=application.pk, reason="other", detail="家庭变故", actor=actor, ctx=ctx)
    application.refresh_from_db()
    assert application.reason_label == "家庭变故"


def test_unknown_reason_changes_nothing(application: Application, actor: Actor, ctx: RequestContext) -> None:
    with pytest.raises(ValidationFailed):
        application_set_reason(application_id=application.pk, reason="whim", actor=actor, ctx=ctx)
    application.refresh_from_db()
    assert application.reason == ""
    assert not AuditEvent.objects.filter(tag="cancellation.application.reason_set").exists()


def test_refund_terms(application: Application, actor: Actor, ctx: RequestContext) -> None:
    application_set_refund(
        application_id=application.pk,
        refund_amount=Decimal("300000.00"),
        refund_method="现金",
        refund_days=15,
        actor=actor,
        ctx=ctx,
    )
    application.refresh_from_db()
    assert (application.refund_amount, application.refund_method, application.refund_days) == (
        Decimal("300000.00"),
        "现金",
        15,
    )
    with pytest.raises(ValidationFailed) as refused:
        application_set_refund(
            application_id=application.pk,
            refund_amount=application.contract.total_price + 1,
            refund_method="",
            refund_days=0,
            actor=actor,
            ctx=ctx,
        )
    assert set(refused.value.fields) == {"refund_amount", "refund_method", "refund_days"}


# --- applicants -------------------------------------------------------------------------------------------------


def test_contacts_are_editable(application: Application, actor: Actor, ctx: RequestContext) -> None:
    application_set_applicants(
        application_id=application.pk,
        applicants=inputs(application, **{"2": {"phone": "13700001111", "address": "中山市石岐区新地址8号"}}),
        actor=actor,
        ctx=ctx,
    )
    second = application.applicants.get(position=2)
    assert (second.phone, second.address) == ("13700001111", "中山市石岐区新地址8号")


def test_invalid_id_number_is_refused_and_nothing_changes(
    application: Application, actor: Actor, ctx: RequestContext
) -> None:
    wrong = mainland_id(1)[:-1] + ("0" if mainland_id(1)[-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as refused:
        application_set_applicants(
            application_id=application.pk,
            applicants=inputs(application, **{"1": {"id_number": wrong, "phone": "13700001111"}}),
            actor=actor,
            ctx=ctx,
        )
    assert "applicants.0.id_number" in refused.value.fields
    assert "证件号码有误" in refused.value.fields["applicants.0.id_number"].zh
    assert application.applicants.get(position=1).phone != "13700001111"


def test_someone_not_on_the_contract_cannot_apply(application: Application, actor: Actor, ctx: RequestContext) -> None:
    stranger = ApplicantInput(
        name="王外人", id_type=IdType.MAINLAND_ID, id_number=mainland_id(987), phone="13800000000"
    )
    with pytest.raises(ValidationFailed) as refused:
        application_set_applicants(
            application_id=application.pk, applicants=[*inputs(application), stranger], actor=actor, ctx=ctx
        )
    assert "不是本合同的买受人" in refused.value.fields["applicants.2.id_number"].zh


def test_every_buyer_must_apply(application: Application, actor: Actor, ctx: RequestContext) -> None:
    only_first = inputs(application)[:1]
    missing = application.applicants.get(position=2).name
    with pytest.raises(ValidationFailed) as refused:
        application_set_applicants(application_id=application.pk, applicants=only_first, actor=actor, ctx=ctx)
    assert missing in refused.value.fields["applicants"].zh


def test_name_must_match_the_contract(application: Application, actor: Actor, ctx: RequestContext) -> None:
    with pytest.raises(ValidationFailed) as refused:
        application_set_applicants(
            application_id=application.pk,
            applicants=inputs(application, **{"1": {"name": "张冒名"}}),
            actor=actor,
            ctx=ctx,
        )
    assert "不一致" in refused.value.fields["applicants.0.name"].zh


def test_the_same_buyer_twice_is_refused(application: Application, actor: Actor, ctx: RequestContext) -> None:
    entries = inputs(application)
    with pytest.raises(ValidationFailed) as refused:
        application_set_applicants(
            application_id=application.pk, applicants=[entries[0], entries[0], entries[1]], actor=actor, ctx=ctx
        )
    assert "重复" in refused.value.fields["applicants.1.id_number"].zh


def test_bad_phone_is_refused(application: Application, actor: Actor, ctx: RequestContext) -> None:
    with pytest.raises(ValidationFailed) as refused:
        application_set_applicants(
            application_id=application.pk,
            applicants=inputs(application, **{"2": {"phone": "call me"}}),
            actor=actor,
            ctx=ctx,
        )
    assert set(refused.value.fields) == {"applicants.1.phone"}


# --- agent ------------------------------------------------------------------------------------------------------


def agent_input(application: Application, *, positions: tuple[int, ...] = (1,), **changes: str) -> AgentInput:
    values = {"name": "赵代理", "id_type": IdType.MAINLAND_ID, "id_number": mainland_id(321), "phone": "13600000000"}
    values.update(changes)
    acts_for = [a.pk for a in application.applicants.filter(position__in=positions)]
    return AgentInput(acts_for=acts_for, **values)


def test_agent_with_power_of_attorney(application: Application, actor: Actor, ctx: RequestContext) -> None:
    data = pdf_bytes()
    agent = application_set_agent(
        application_id=application.pk, agent=agent_input(application), power_of_attorney=data, actor=actor, ctx=ctx
    )
    assert agent.power_of_attorney_type == "application/pdf"
    assert agent.power_of_attorney.name.endswith(".pdf")
    with agent.power_of_attorney.open("rb") as handle:
        assert handle.read() == data
    assert [a.position for a in agent.acts_for.all()] == [1]
    agent_check = next(c for c in application_checks(application) if c.code == "agent")
    assert agent_check.ok


def test_replacing_the_power_of_attorney_removes_the_old_file(
    application: Application, actor: Actor, ctx: RequestContext, django_capture_on_commit_callbacks: object
) -> None:
    first = application_set_agent(
        application_id=application.pk,
        agent=agent_input(application),
        power_of_attorney=pdf_bytes(),
        actor=actor,
        ctx=ctx,
    )
    old_name, storage = first.power_of_attorney.name, first.power_of_attorney.storage
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        second = application_set_agent(
            application_id=application.pk,
            agent=agent_input(application, positions=(1, 2)),
            power_of_attorney=png_bytes(),
            actor=actor,
            ctx=ctx,
        )
    assert second.power_of_attorney.name != old_name
    assert not storage.exists(old_name)
    assert second.power_of_attorney_type == "image/png"
    assert Agent.objects.count() == 1


def test_agent_without_power_of_attorney_fails_the_check(
    application: Application, actor: Actor, ctx: RequestContext
) -> None:
    application_set_agent(application_id=application.pk, agent=agent_input(application), actor=actor, ctx=ctx)
    agent_check = next(c for c in application_checks(application) if c.code == "agent")
    assert not agent_check.ok
    assert "授权委托书" in agent_check.problems[0].zh


def test_agent_refusals(application: Application, actor: Actor, ctx: RequestContext) -> None:
    with pytest.raises(ValidationFailed) as refused:
        application_set_agent(
            application_id=application.pk,
            agent=AgentInput(name="", id_type="nope", id_number="1", phone="x", acts_for=[]),
            actor=actor,
            ctx=ctx,
        )
    assert set(refused.value.fields) == {"name", "id_type", "phone", "acts_for"}
    first = application.applicants.get(position=1)
    with pytest.raises(ValidationFailed) as refused:
        application_set_agent(
            application_id=application.pk,
            agent=agent_input(application, id_number=first.id_number),
            actor=actor,
            ctx=ctx,
        )
    assert "本人" in refused.value.fields["acts_for"].zh
    with pytest.raises(ValidationFailed) as refused:
        application_set_agent(
            application_id=application.pk,
            agent=agent_input(application),
            power_of_attorney=b"MZ\x90\x00 not a document",
            actor=actor,
            ctx=ctx,
        )
    assert "power_of_attorney" in refused.value.fields
    assert not Agent.objects.exists()


def test_agent_can_act_only_for_this_applications_applicants(
    application: Application, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    other = application_create(contract_id=contract_with_buyers(1, seller=developer).pk, actor=actor, ctx=ctx)
    foreign = other.applicants.get()
    with pytest.raises(ValidationFailed) as refused:
        application_set_agent(
            application_id=application.pk,
            agent=AgentInput(
                name="赵代理",
                id_type=IdType.MAINLAND_ID,
                id_number=mainland_id(321),
                phone="13600000000",
                acts_for=[foreign.pk],
            ),
            actor=actor,
            ctx=ctx,
        )
    assert "acts_for" in refused.value.fields


def test_remove_agent(application: Application, actor: Actor, ctx: RequestContext) -> None:
    application_set_agent(application_id=application.pk, agent=agent_input(application), actor=actor, ctx=ctx)
    application_remove_agent(application_id=application.pk, actor=actor, ctx=ctx)
    assert not Agent.objects.exists()
    with pytest.raises(InvalidTransition):
        application_remove_agent(application_id=application.pk, actor=actor, ctx=ctx)


# --- notary office, checks, access -----------------------------------------------------------------------------


def test_notary_office_must_be_a_notary_office(
    application: Application,
    notary_office: Organisation,
    other_developer: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    with pytest.raises(ValidationFailed):
        application_set_notary_office(
            application_id=application.pk, notary_office_id=other_developer.pk, actor=actor, ctx=ctx
        )
    application_set_notary_office(
        application_id=application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx
    )
    application.refresh_from_db()
    assert application.notary_office == notary_office


def test_checks_list_what_to_fix(
    application: Application, notary_office: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    checks = {c.code: c for c in application_checks(application)}
    assert list(checks) == ["reason", "applicants", "numbers", "notary_office", "contract", "agent", "seller_papers"]
    assert not checks["reason"].ok and not checks["notary_office"].ok
    assert checks["applicants"].ok and checks["numbers"].ok and checks["contract"].ok and checks["agent"].ok
    assert "请选择公证处" in checks["notary_office"].problems[0].zh
    application_set_reason(application_id=application.pk, reason="quality", actor=actor, ctx=ctx)
    application_set_notary_office(
        application_id=application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx
    )
    application.refresh_from_db()
    assert all(c.ok for c in application_checks(application))


def test_checks_catch_a_registry_number_that_does_not_validate(
    application: Application, actor: Actor, ctx: RequestContext
) -> None:
    Applicant.objects.filter(application=application, position=1).update(id_number="123")
    checks = {c.code: c for c in application_checks(application)}
    assert not checks["numbers"].ok
    assert not checks["applicants"].ok


def test_other_company_staff_cannot_touch_it(
    application: Application, other_developer: Organisation, ctx: RequestContext
) -> None:
    stranger = Actor.staff(UserFactory(organisation=other_developer))
    with pytest.raises(NotFound):
        application_set_reason(application_id=application.pk, reason="quality", actor=stranger, ctx=ctx)
    with pytest.raises(NotFound):
        application_abandon(application_id=application.pk, actor=stranger, ctx=ctx)


def test_api_token_actor_is_recorded_by_label(
    application: Application, developer: Organisation, ctx: RequestContext
) -> None:
    token_actor = Actor(organisation=developer, label="token:ect_abc")
    application_set_reason(application_id=application.pk, reason="quality", actor=token_actor, ctx=ctx)
    event = AuditEvent.objects.get(tag="cancellation.application.reason_set")
    assert event.actor_id is None
    assert event.actor_label == "token:ect_abc"


def test_stale_version_is_refused(application: Application, actor: Actor, ctx: RequestContext) -> None:
    with pytest.raises(InvalidTransition) as refused:
        application_abandon(application_id=application.pk, expected_version=2, actor=actor, ctx=ctx)
    assert refused.value.code == "stale_version"


def test_closed_application_cannot_be_edited(application: Application, actor: Actor, ctx: RequestContext) -> None:
    application_abandon(application_id=application.pk, actor=actor, ctx=ctx)
    with pytest.raises(InvalidTransition) as refused:
        application_set_reason(application_id=application.pk, reason="quality", actor=actor, ctx=ctx)
    assert "已作废" in refused.value.zh


def test_registry_corrections_show_in_the_checks_until_the_applicants_are_saved_again(
    application: Application, actor: Actor, ctx: RequestContext
) -> None:
    """The filing authority corrects a buyer's name and adds a co-buyer after the draft was made."""
    from ecancel.filing.models import BuyerParty
    from tests.factories import BuyerFactory

    BuyerParty.objects.filter(contract=application.contract, position=1).update(name="李更正")
    added = BuyerFactory(contract=application.contract, position=3)
    checks = {c.code: c for c in application_checks(application)}
    problems = " ".join(p.zh for p in checks["applicants"].problems)
    assert "李更正" in problems and added.name in problems

    entries = [
        ApplicantInput(name=b.name, id_type=b.id_type, id_number=b.id_number, phone=b.phone, address=b.address)
        for b in application.contract.buyers.order_by("position")
    ]
    application_set_applicants(application_id=application.pk, applicants=entries, actor=actor, ctx=ctx)
    assert [a.name for a in application.applicants.order_by("position")] == [e.name for e in entries]
    assert next(c for c in application_checks(application) if c.code == "applicants").ok
