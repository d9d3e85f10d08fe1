"""Push, the notary office's answers, revoke, re-push and abandon: the services and the filing-side handlers.

The notary office's answers are real signed messages received through the exchange inbox.
"""

from __future__ import annotations

import pytest

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import Application, ApplicationPush, PushOutcome
from ecancel.cancellation.selectors import application_qr
from ecancel.cancellation.services.drafting import (
    ApplicantInput,
    application_abandon,
    application_set_applicants,
    application_set_reason,
)
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import ApplicationStatus, RevokeStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, ValidationFailed
from ecancel.documents.models import StoredDocument
from ecancel.exchange.envelope import parse_envelope
from ecancel.exchange.messages import MaterialsPushed, MaterialsRepushed
from ecancel.exchange.models import OutboxMessage
from ecancel.exchange.transitions import InboxStatus
from ecancel.filing.transitions import ContractStatus
from tests.cancellation.conftest import accepted_body, answer_body, notary_says


def push(application: Application, notary_office: Organisation, actor: Actor, ctx: RequestContext) -> Application:
    return application_push(application_id=application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx)


def sent(message_type: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(message_type=message_type).order_by("created_at"))


@pytest.fixture
def pushed(
    ready_application: Application, notary_office: Organisation, actor: Actor, ctx: RequestContext
) -> Application:
    return push(ready_application, notary_office, actor, ctx)


def test_push_signs_both_documents_locks_the_contract_and_sends_the_materials(
    pushed: Application, notary_office: Organisation, developer: Organisation
) -> None:
    assert pushed.status == ApplicationStatus.PUSHED
    pushed.contract.refresh_from_db()
    assert pushed.contract.status == ContractStatus.CANCELLING

    record = ApplicationPush.objects.get(application=pushed)
    assert (record.version, record.outcome, record.message_type) == (1, PushOutcome.PENDING, "materials.pushed")
    documents = StoredDocument.objects.filter(subject_ref=f"application:{pushed.pk}")
    assert sorted(d.kind for d in documents) == ["cancellation_form", "termination_agreement"]
    from ecancel.documents.verification import verify_pdf

    for document in (record.form_document, record.agreement_document):
        assert document.issuer == developer
        with document.content.open("rb") as handle:
            report = verify_pdf(handle.read())
        assert report.valid, report.problems

    (message,) = sent("materials.pushed")
    assert (message.sender, message.recipient) == (developer, notary_office)
    envelope = parse_envelope(bytes(message.raw))
    body = MaterialsPushed.model_validate(envelope.body)
    assert body.application_no == pushed.number
    assert [a.name for a in body.applicants] == [a.name for a in pushed.applicants.order_by("position")]
    assert body.reason.label == "双方协商一致解除"
    signed = {d.sha256 for d in body.documents if d.kind in ("application_form", "termination_agreement")}
    assert signed == {record.form_document.sha256, record.agreement_document.sha256}
    # The company's licence and its legal representative's ID travel too: the certificate appends them.
    assert sorted(d.kind for d in body.documents if d.kind not in ("application_form", "termination_agreement")) == [
        "business_licence",
        "legal_representative_id_back",
        "legal_representative_id_front",
    ]
    assert AuditEvent.objects.filter(tag="cancellation.application.pushed", object_id=str(pushed.pk)).exists()
    assert AuditEvent.objects.filter(tag="filing.contract.cancellation_started").exists()


def test_push_needs_every_check(
    application: Application, notary_office: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        push(application, notary_office, actor, ctx)
    assert set(refused.value.fields) == {"reason"}
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    application.contract.refresh_from_db()
    assert application.contract.status == ContractStatus.FILED
    assert not OutboxMessage.objects.exists()
    assert not StoredDocument.objects.exists()


def test_pushed_application_is_locked(
    pushed: Application, notary_office: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        application_set_reason(application_id=pushed.pk, reason="quality", actor=actor, ctx=ctx)
    assert "请先撤销申请" in refused.value.zh
    with pytest.raises(InvalidTransition) as refused:
        push(pushed, notary_office, actor, ctx)
    assert "不能重复推送" in refused.value.zh
    with pytest.raises(InvalidTransition) as refused:
        application_abandon(application_id=pushed.pk, actor=actor, ctx=ctx)
    assert "请先撤销申请" in refused.value.zh


def test_case_accepted_shows_the_qr(pushed: Application, notary_office: Organisation, developer: Organisation) -> None:
    body = accepted_body(pushed)
    inbox = notary_says(notary_office, developer, "case.accepted", body)
    assert inbox.status == InboxStatus.APPLIED
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.AWAITING_BUYERS
    qr = application_qr(pushed)
    assert qr is not None
    assert (qr.handoff_url, qr.case_number, qr.outcome) == (body["handoff_url"], body["case_no"], PushOutcome.ACCEPTED)
    assert qr.handoff_expires_at is not None


def test_answer_about_an_older_version_changes_nothing(
    pushed: Application, notary_office: Organisation, developer: Organisation
) -> None:
    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed, version=7))
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.PUSHED
    assert AuditEvent.objects.filter(tag="cancellation.application.stale_answer_ignored").exists()


def test_answer_from_another_office_is_rejected(
    pushed: Application, other_notary_office: Organisation, developer: Organisation
) -> None:
    inbox = notary_says(other_notary_office, developer, "case.accepted", accepted_body(pushed))
    assert inbox.status == InboxStatus.REJECTED
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.PUSHED


def test_revoke_correct_and_push_again(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed))
    first_push = ApplicationPush.objects.get(application=pushed)
    revoke = application_revoke(application_id=pushed.pk, expected_version=1, reason="电话有误", actor=actor, ctx=ctx)
    assert (revoke.status, revoke.push, revoke.reason) == (RevokeStatus.PENDING, first_push, "电话有误")
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.AWAITING_BUYERS, "the application keeps its status while it waits"
    (request,) = sent("revoke.requested")
    assert parse_envelope(bytes(request.raw)).body["case_ref"] == first_push.case_id
    with pytest.raises(InvalidTransition):
        application_set_reason(application_id=pushed.pk, reason="quality", actor=actor, ctx=ctx)

    notary_says(
        notary_office,
        developer,
        "case.revoked",
        answer_body(
            pushed, case_ref=first_push.case_id, case_no=first_push.case_number, revoked_at="2026-01-01T00:00:00+00:00"
        ),
    )
    pushed.refresh_from_db()
    assert (pushed.status, pushed.version) == (ApplicationStatus.DRAFT, 2)
    first_push.refresh_from_db()
    assert first_push.outcome == PushOutcome.REVOKED
    assert application_qr(pushed) is None
    pushed.contract.refresh_from_db()
    assert pushed.contract.status == ContractStatus.CANCELLING, (
        "the contract stays locked while the application is open"
    )

    entries = [
        ApplicantInput(name=a.name, id_type=a.id_type, id_number=a.id_number, phone=a.phone, address=a.address)
        for a in pushed.applicants.order_by("position")
    ]
    entries[0] = ApplicantInput(**{**entries[0].__dict__, "phone": "13511112222"})
    application_set_applicants(application_id=pushed.pk, applicants=entries, actor=actor, ctx=ctx)
    repushed = application_push(application_id=pushed.pk, expected_version=2, actor=actor, ctx=ctx)
    assert repushed.status == ApplicationStatus.PUSHED
    second = ApplicationPush.objects.get(application=pushed, version=2)
    assert second.message_type == "materials.repushed"
    assert [c["field"] for c in second.changes] == ["applicants.1.phone"]
    assert second.changes[0]["after"] == "13511112222"
    (message,) = sent("materials.repushed")
    body = MaterialsRepushed.model_validate(parse_envelope(bytes(message.raw)).body)
    assert (body.version, body.previous_version) == (2, 1)
    assert [c.label for c in body.changes] == ["申请人1联系电话"]
    forms = StoredDocument.objects.filter(subject_ref=f"application:{pushed.pk}", kind="cancellation_form")
    assert sorted(d.version for d in forms) == [1, 2], "the first version's documents are kept"

    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed, case_no="(2026)中证受字第0002号"))
    pushed.refresh_from_db()
    qr = application_qr(pushed)
    assert qr is not None and qr.version == 2 and qr.handoff_url != first_push.handoff_url


def test_revoke_refused_at_once_after_a_buyer_submitted(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed))
    push_row = ApplicationPush.objects.get(application=pushed)
    first = pushed.applicants.get(position=1)
    notary_says(
        notary_office,
        developer,
        "buyer.submitted",
        answer_body(
            pushed,
            case_ref=push_row.case_id,
            case_no=push_row.case_number,
            buyer={
                "position": 1,
                "name": first.name,
                "verification": "face",
                "submitted_at": "2026-03-01T08:00:00+00:00",
            },
        ),
    )
    first.refresh_from_db()
    assert first.submitted_at is not None
    with pytest.raises(InvalidTransition) as refused:
        application_revoke(application_id=pushed.pk, actor=actor, ctx=ctx)
    assert refused.value.code == "buyer_submitted"
    assert first.name in refused.value.zh and push_row.case_number in refused.value.zh
    assert not sent("revoke.requested")


def test_revoke_refused_by_the_office(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed))
    application_revoke(application_id=pushed.pk, actor=actor, ctx=ctx)
    notary_says(
        notary_office,
        developer,
        "revoke.refused",
        answer_body(pushed, reason="买受人已提交认证材料", refused_at="2026-03-01T08:00:00+00:00"),
    )
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.AWAITING_BUYERS
    revoke = pushed.revoke_requests.get()
    assert (revoke.status, revoke.refusal_reason) == (RevokeStatus.REFUSED, "买受人已提交认证材料")
    assert application_qr(pushed) is not None, "the case goes on: the QR is shown again"


def test_refusal_makes_it_editable_with_the_reason(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    notary_says(
        notary_office,
        developer,
        "case.refused",
        answer_body(
            pushed,
            code="materials_invalid",
            reason="终止协议签名无效，请重新生成后推送",
            refused_at="2026-03-01T08:00:00+00:00",
        ),
    )
    pushed.refresh_from_db()
    assert (pushed.status, pushed.version, pushed.is_editable) == (ApplicationStatus.REFUSED, 2, True)
    assert (pushed.notary_message_code, pushed.notary_message) == (
        "materials_invalid",
        "终止协议签名无效，请重新生成后推送",
    )
    assert ApplicationPush.objects.get(application=pushed).outcome == PushOutcome.REFUSED
    again = application_push(application_id=pushed.pk, actor=actor, ctx=ctx)
    assert again.status == ApplicationStatus.PUSHED
    assert again.notary_message == ""
    body = MaterialsRepushed.model_validate(parse_envelope(bytes(sent("materials.repushed")[0].raw)).body)
    assert body.changes == [], "nothing was corrected: a re-push with an empty list of changes"


def all_buyers_submitted(pushed: Application, notary_office: Organisation, developer: Organisation) -> None:
    """The office reports that every buyer has finished on the phone (buyers.submitted)."""
    push_row = ApplicationPush.objects.get(application=pushed)
    buyers = [
        {"position": a.position, "name": a.name, "verification": "face", "submitted_at": "2026-03-01T08:00:00+00:00"}
        for a in pushed.applicants.all()
    ]
    notary_says(
        notary_office,
        developer,
        "buyers.submitted",
        answer_body(
            pushed,
            case_ref=push_row.case_id,
            case_no=push_row.case_number,
            buyers=buyers,
            completed_at="2026-03-01T09:00:00+00:00",
        ),
    )


def test_all_buyers_submitted_moves_to_review(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed))
    all_buyers_submitted(pushed, notary_office, developer)
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.UNDER_REVIEW
    assert not pushed.applicants.filter(submitted_at__isnull=True).exists()
    with pytest.raises(InvalidTransition) as refused:
        application_revoke(application_id=pushed.pk, actor=actor, ctx=ctx)
    assert "公证处正在审核" in refused.value.zh


def test_abandon_after_revoke_returns_the_contract(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    application_revoke(application_id=pushed.pk, actor=actor, ctx=ctx)
    with pytest.raises(InvalidTransition) as refused:
        application_abandon(application_id=pushed.pk, actor=actor, ctx=ctx)
    assert "等待公证处确认" in refused.value.zh
    notary_says(
        notary_office,
        developer,
        "case.revoked",
        answer_body(
            pushed,
            case_ref="8d6c4c58-8f6e-4c5c-9d0e-3d1c2b1a0f00",
            case_no="(2026)中证受字第0001号",
            revoked_at="2026-03-01T08:00:00+00:00",
        ),
    )
    application_abandon(application_id=pushed.pk, expected_version=2, actor=actor, ctx=ctx)
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.ABANDONED
    pushed.contract.refresh_from_db()
    assert pushed.contract.status == ContractStatus.FILED
    assert AuditEvent.objects.filter(tag="cancellation.application.abandoned").exists()


def test_revoke_before_the_acceptance_arrives(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    """The operator revokes while the office is still opening the case; its acceptance still gets recorded."""
    application_revoke(application_id=pushed.pk, actor=actor, ctx=ctx)
    body = accepted_body(pushed)
    notary_says(notary_office, developer, "case.accepted", body)
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.AWAITING_BUYERS
    assert pushed.revoke_pending is not None
    assert application_qr(pushed) is None, "no QR while the revoke is under way"
    assert ApplicationPush.objects.get(application=pushed).case_number == body["case_no"]
    notary_says(
        notary_office,
        developer,
        "case.revoked",
        answer_body(pushed, case_ref=body["case_ref"], case_no=body["case_no"], revoked_at=body["accepted_at"]),
    )
    pushed.refresh_from_db()
    assert (pushed.status, pushed.version) == (ApplicationStatus.DRAFT, 2)


def test_revoke_refused_before_acceptance_goes_back_to_waiting(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    application_revoke(application_id=pushed.pk, actor=actor, ctx=ctx)
    notary_says(
        notary_office,
        developer,
        "revoke.refused",
        answer_body(pushed, reason="案件正在收案", refused_at="2026-03-01T08:00:00+00:00"),
    )
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.PUSHED
    revoke = pushed.revoke_requests.get()
    assert (revoke.status, revoke.refusal_reason) == (RevokeStatus.REFUSED, "案件正在收案")
    assert pushed.notary_message == "", "the refusal of a revoke is the revoke's, not the application's"


def test_all_submitted_during_a_revoke_then_refused_goes_to_review(
    pushed: Application, notary_office: Organisation, developer: Organisation, actor: Actor, ctx: RequestContext
) -> None:
    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed))
    application_revoke(application_id=pushed.pk, actor=actor, ctx=ctx)
    all_buyers_submitted(pushed, notary_office, developer)
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.UNDER_REVIEW
    assert pushed.revoke_pending is not None
    notary_says(
        notary_office,
        developer,
        "revoke.refused",
        answer_body(pushed, reason="买受人已全部提交", refused_at="2026-03-01T09:01:00+00:00"),
    )
    pushed.refresh_from_db()
    assert pushed.status == ApplicationStatus.UNDER_REVIEW
    assert pushed.revoke_requests.get().status == RevokeStatus.REFUSED


def test_second_acceptance_of_one_version_is_rejected(
    pushed: Application, notary_office: Organisation, developer: Organisation
) -> None:
    notary_says(notary_office, developer, "case.accepted", accepted_body(pushed))
    again = notary_says(
        notary_office, developer, "case.accepted", accepted_body(pushed, case_no="(2026)中证受字第0099号")
    )
    assert again.status == InboxStatus.REJECTED
    assert ApplicationPush.objects.get(application=pushed).case_number == "(2026)中证受字第0001号"
