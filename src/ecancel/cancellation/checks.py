"""Pre-push checks: what must be true before an application may go to a notary office, and what to fix if not.

The page lists them before the push button (which stays disabled until all pass) and the push
service runs them again inside its transaction, so a stale page cannot push bad materials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import OrganisationKind
from ecancel.cancellation.materials import SELLER_PAPERS
from ecancel.cancellation.models import Agent, Applicant, Application, ReturnReason
from ecancel.core.errors import FieldMessage, Joined, Text, ValidationFailed, render_english
from ecancel.filing.transitions import ContractStatus
from ecancel.identity.id_numbers import IdType, mask_id_number, validate_id_number

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")


@dataclass(frozen=True)
class PrePushCheck:
    code: str
    label: Text
    problems: list[FieldMessage] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The check's name in the active language."""
        return str(self.label)

    @property
    def en(self) -> str:
        return render_english(self.label)

    @property
    def ok(self) -> bool:
        return not self.problems


def normalised_id(id_type: str, number: str) -> str:
    """The number as the validator writes it, or as typed (upper-cased) when it does not validate."""
    try:
        return validate_id_number(id_type, number)
    except ValidationFailed:
        return number.strip().upper()


def id_problem(who: FieldMessage, id_type: str, number: str) -> FieldMessage | None:
    """What is wrong with a person's ID document, if anything; ``who`` names the person (申请人「甲」)."""
    if id_type not in IdType.values:
        return FieldMessage(_("%(who)s的证件类型无效"), params={"who": who})
    try:
        validate_id_number(id_type, number)
    except ValidationFailed as problem:
        return FieldMessage(
            _("%(who)s的证件号码 %(id_number)s 有误：%(problem)s"),
            params={"who": who, "id_number": mask_id_number(number), "problem": problem},
        )
    return None


def _reason(application: Application) -> PrePushCheck:
    problems = []
    if application.reason not in ReturnReason.values:
        problems.append(FieldMessage(_("请选择退房原因")))
    elif application.reason == ReturnReason.OTHER and not application.reason_detail.strip():
        problems.append(FieldMessage(_("退房原因选择「其他」时，请填写具体原因")))
    return PrePushCheck("reason", _("已填写退房原因"), problems)


def _applicants_match(application: Application, applicants: list[Applicant]) -> PrePushCheck:
    problems = []
    buyers = list(application.contract.buyers.all())
    by_buyer = {a.buyer_id: a for a in applicants}
    for buyer in buyers:
        applicant = by_buyer.get(buyer.pk)
        if applicant is None:
            problems.append(
                FieldMessage(
                    _("合同买受人「%(buyer_name)s」未列为申请人，合同的每一位买受人都必须作为申请人"),
                    params={"buyer_name": buyer.name},
                )
            )
        elif (applicant.name, applicant.id_type, normalised_id(applicant.id_type, applicant.id_number)) != (
            buyer.name,
            buyer.id_type,
            normalised_id(buyer.id_type, buyer.id_number),
        ):
            problems.append(
                FieldMessage(
                    _(
                        "申请人「%(applicant_name)s」的姓名或证件与合同登记的买受人「%(buyer_name)s」不一致，"
                        "请核对后重新填写"
                    ),
                    params={"applicant_name": applicant.name, "buyer_name": buyer.name},
                )
            )
    buyer_ids = {b.pk for b in buyers}
    for applicant in applicants:
        if applicant.buyer_id not in buyer_ids:
            problems.append(
                FieldMessage(
                    _("「%(applicant_name)s」不是本合同的买受人，不能作为申请人"),
                    params={"applicant_name": applicant.name},
                )
            )
    return PrePushCheck("applicants", _("申请人与合同买受人一致"), problems)


def _numbers_valid(applicants: list[Applicant], agent: Agent | None) -> PrePushCheck:
    problems = []
    for applicant in applicants:
        who = FieldMessage(_("申请人「%(name)s」"), params={"name": applicant.name})
        if problem := id_problem(who, applicant.id_type, applicant.id_number):
            problems.append(problem)
        if not PHONE.match(applicant.phone.strip()):
            problems.append(FieldMessage(_("%(who)s的联系电话格式不正确，请修改"), params={"who": who}))
    if agent is not None and (
        problem := id_problem(
            FieldMessage(_("代理人「%(name)s」"), params={"name": agent.name}), agent.id_type, agent.id_number
        )
    ):
        problems.append(problem)
    return PrePushCheck("numbers", _("证件号码和联系电话有效"), problems)


def _notary_office(application: Application) -> PrePushCheck:
    problems = []
    office = application.notary_office
    if office is None:
        problems.append(FieldMessage(_("请选择公证处")))
    elif office.kind != OrganisationKind.NOTARY_OFFICE:
        problems.append(FieldMessage(_("所选机构不是公证处，请重新选择")))
    return PrePushCheck("notary_office", _("已选择公证处"), problems)


def _contract_free(application: Application) -> PrePushCheck:
    problems = []
    contract = application.contract
    others = list(
        Application.objects.open()
        .filter(contract_id=contract.pk)
        .exclude(pk=application.pk)
        .values_list("number", flat=True)
    )
    if others:
        problems.append(
            FieldMessage(
                _("合同 %(contract_no)s 已在注销申请 %(numbers)s 中办理，请在该申请中继续"),
                params={"contract_no": contract.contract_no, "numbers": Joined(others)},
            )
        )
    pushed_before = application.pushes.exists()
    if contract.status == ContractStatus.CANCELLED or (
        contract.status == ContractStatus.CANCELLING and not pushed_before
    ):
        problems.append(
            FieldMessage(
                _("合同 %(contract_no)s 当前状态为「%(status)s」，不能推送"),
                params={"contract_no": contract.contract_no, "status": ContractStatus(contract.status).label},
            )
        )
    return PrePushCheck("contract", _("合同未在其他申请中办理"), problems)


def _agent_complete(agent: Agent | None) -> PrePushCheck:
    problems = []
    if agent is not None:
        if not agent.name.strip():
            problems.append(FieldMessage(_("请填写代理人姓名")))
        if not PHONE.match(agent.phone.strip()):
            problems.append(FieldMessage(_("请填写代理人的有效联系电话")))
        if not agent.acts_for.exists():
            problems.append(FieldMessage(_("请选择代理人代理的买受人")))
        if not agent.power_of_attorney:
            problems.append(FieldMessage(_("请上传授权委托书（PDF、JPEG或PNG）")))
    return PrePushCheck("agent", _("代理人信息完整（如有）"), problems)


def _seller_papers(application: Application) -> PrePushCheck:
    """The notary office appends the licence and the legal representative's ID to the certificate: without them
    the case could be reviewed but never certified, so the push waits for them."""
    company = getattr(application.seller, "developer", None)
    missing = [paper.title for paper in SELLER_PAPERS if company is None or not getattr(company, paper.field)]
    problems = []
    if missing:
        problems.append(
            FieldMessage(
                _("企业资料缺少%(papers)s，公证书须附上；请系统管理员在企业资料中上传后再推送"),
                params={"papers": Joined(missing)},
            )
        )
    return PrePushCheck("seller_papers", _("企业营业执照和法定代表人身份证件已上传"), problems)


def application_checks(application: Application) -> list[PrePushCheck]:
    """Every check, passed or not, in the order the page lists them."""
    applicants = list(application.applicants.all())
    agent = Agent.objects.filter(application=application).first()
    return [
        _reason(application),
        _applicants_match(application, applicants),
        _numbers_valid(applicants, agent),
        _notary_office(application),
        _contract_free(application),
        _agent_complete(agent),
        _seller_papers(application),
    ]


def raise_unless_ready(application: Application) -> None:
    """A refusal listing every failed check and what to fix."""
    failed = [check for check in application_checks(application) if not check.ok]
    if not failed:
        return
    fields = {
        check.code: FieldMessage("%(problems)s", params={"problems": Joined(check.problems, clauses=True)})
        for check in failed
    }
    raise ValidationFailed(
        _("推送前检查未通过，请按提示修改后再推送：%(problems)s"),
        params={"problems": Joined((p for c in failed for p in c.problems), clauses=True)},
        fields=fields,
    )
