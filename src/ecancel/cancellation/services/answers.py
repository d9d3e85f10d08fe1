"""What the notary office answered, applied to the seller's own application.

The exchange inbox calls these (through ``cancellation.handlers``) in the transaction that marks a message
applied; an answer about an older version is kept and not applied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation
from ecancel.cancellation.models import (
    Applicant,
    Application,
    ApplicationPush,
    PushOutcome,
    ReceivedCertificate,
    RevokeRequest,
)
from ecancel.cancellation.selectors import application_certificate
from ecancel.cancellation.services.common import audit_application, pending_revoke, seller_application
from ecancel.cancellation.transitions import ApplicationStatus, application_move, revoke_move
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, Joined, NotFound, Text, render_source
from ecancel.documents.slots import run_in_signing_slot
from ecancel.exchange.messages import CertificateIssued
from ecancel.exchange.pins import document_signing_pins
from ecancel.filing.services import contract_cancel_filing

logger = logging.getLogger(__name__)


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
    audit_application(
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
    target = application_move(application, action)
    push.outcome, push.closed_at = outcome, timezone.now()
    push.save(update_fields=["outcome", "closed_at", "updated_at"])
    application.status, application.version = target, application.version + 1
    application.applicants.update(submitted_at=None)


def _answered(answer: NotaryAnswer, ctx: RequestContext) -> tuple[Application, ApplicationPush] | None:
    """The application and its current push, or None when the answer is about an older version (kept, not applied).

    Only an answer addressed to the application's seller, from the office that version was pushed to, is
    applied: any other (another company's reference, another office) is refused and changes nothing.
    """
    application = seller_application(answer.application_id, seller=answer.seller, lock=True)
    push = application.pushes.filter(version=answer.version).first()
    pushed_to = push.notary_office_id if push is not None else application.notary_office_id
    if pushed_to is None or answer.notary_office.pk != pushed_to:
        raise InvalidTransition(
            gettext_lazy("该公证处不是本申请推送的公证处，消息不予处理"),
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
            gettext_lazy("第%(version)s版已有公证处答复（%(outcome)s），重复受理不予处理"),
            params={"version": push.version, "outcome": PushOutcome(push.outcome).label},
        )
    # A revoke asked for before the acceptance arrived stays pending beside it: the office will answer it next.
    target = application_move(application, "accept")
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


def _answered_revoke(application: Application, push: ApplicationPush) -> RevokeRequest:
    """The revoke request of ``push`` that an answer is about; an answer nobody asked for changes nothing."""
    revoke = pending_revoke(application)
    if revoke is None or revoke.push_id != push.pk:
        raise InvalidTransition(
            gettext_lazy("本申请没有等待答复的撤销申请，消息不予处理"),
            code="no_revoke_pending",
        )
    return revoke


@transaction.atomic
def application_record_revoked(*, answer: NotaryAnswer, ctx: RequestContext) -> Application | None:
    """case.revoked: the notary office closed the case and its QR; the application is an editable draft again."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    revoke = _answered_revoke(application, push)
    revoke.status, revoke.answered_at = revoke_move(revoke, "confirm"), timezone.now()
    revoke.save(update_fields=["status", "answered_at", "updated_at"])
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
    """revoke.refused: the case goes on where it is; the operator reads why on the revoke request."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    revoke = _answered_revoke(application, push)
    revoke.status, revoke.answered_at, revoke.refusal_reason = revoke_move(revoke, "refuse"), timezone.now(), reason
    revoke.save(update_fields=["status", "answered_at", "refusal_reason", "updated_at"])
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
    revoke = pending_revoke(application)
    if revoke is not None:
        # The office ended the case before answering the revoke: nothing is left to revoke.
        revoke.status, revoke.answered_at = revoke_move(revoke, "lapse"), timezone.now()
        revoke.save(update_fields=["status", "answered_at", "updated_at"])
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


@dataclass(frozen=True)
class CertificateCheck:
    """The received certificate's signature, checked before the inbox transaction: who signed with which pinned
    key, or what is wrong."""

    signed_by: str
    problem: Text | None = None
    params: dict[str, Any] = field(default_factory=dict)
    signer_keys: tuple[str, ...] = ()


def certificate_check(*, sender: Organisation, content: bytes) -> CertificateCheck:
    """Valid, unchanged since signing, and signed with a key pinned for the office that sends it (not merely a
    certificate in its name): only then may it cancel a filing."""
    from ecancel.documents.verification import NotAPdf, verify_pdf

    pins = document_signing_pins(sender)
    if not pins:
        return CertificateCheck(
            "",
            gettext_lazy(
                "公证书无法核对签章：本系统没有登记公证处「%(office)s」的签章证书公钥指纹。"
                "请导入该公证处所在系统的 exchange_identity（ecancel exchange_peer import），"
                "或用 ecancel exchange_peer set --add-pin 登记"
            ),
            {"office": sender.name},
        )
    try:
        report = run_in_signing_slot(lambda: verify_pdf(content))
    except NotAPdf:
        return CertificateCheck("", gettext_lazy("公证书不是可读的PDF文件"))
    signers = sorted({s.signer_organisation for s in report.signatures if s.signer_organisation})
    if not report.valid:
        problems = Joined((p.text for p in report.problems), clauses=True) if report.problems else "—"
        return CertificateCheck("", gettext_lazy("公证书的电子签章未通过验证：%(problems)s"), {"problems": problems})
    if sender.name not in signers:
        return CertificateCheck(
            "",
            gettext_lazy("公证书不是由发送它的公证处「%(office)s」签章（签章机构：%(signers)s）"),
            {"office": sender.name, "signers": Joined(signers) if signers else "—"},
        )
    keys = tuple(sorted({s.signer_key_sha256 for s in report.signatures}))
    unpinned = [key for key in keys if key not in pins]
    if unpinned:
        return CertificateCheck(
            "",
            gettext_lazy(
                "公证书的签章密钥不是公证处「%(office)s」登记的签章证书（签章公钥指纹 %(keys)s），"
                "可能是冒用该公证处名称的证书，不予接收"
            ),
            {"office": sender.name, "keys": Joined(unpinned)},
        )
    return CertificateCheck(sender.name, signer_keys=keys)


@transaction.atomic
def application_record_certificate(
    *, answer: NotaryAnswer, body: CertificateIssued, content: bytes, checked: CertificateCheck, ctx: RequestContext
) -> Application | None:
    """certificate.issued: in one transaction the application is 已出证 then 已注销, the contract's filing is
    cancelled and the unit is for sale again. A certificate that fails its check changes nothing: the message is
    rejected (the inbox keeps it, with the file, for inspection) and the failure is logged as an alert."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, push = found
    if checked.problem is not None:
        logger.error(
            "certificate %s for application %s from %s refused: %s",
            body.certificate_no,
            application.number,
            answer.notary_office.name,
            render_source(checked.problem, checked.params),
        )
        raise InvalidTransition(checked.problem, code="certificate_invalid", params=checked.params)
    application.status = application_move(application, "certify")
    application.status = application_move(application, "complete")
    push.closed_at = timezone.now()
    push.save(update_fields=["closed_at", "updated_at"])
    application.save(update_fields=["status", "updated_at"])
    ReceivedCertificate.objects.create(
        application=application,
        push=push,
        certificate_no=body.certificate_no,
        notary_name=body.notary_name,
        issued_at=body.issued_at,
        verification_code=body.verification_code,
        verification_url=body.verification_url,
        signed_by=checked.signed_by,
        content=ContentFile(content, name="certificate.pdf"),
        sha256=body.certificate.sha256,
        size=len(content),
        message_id=uuid.UUID(answer.message_id),
    )
    contract_cancel_filing(
        contract_id=application.contract_id, certificate_ref=body.certificate_no, actor=None, ctx=ctx
    )
    _audit_answer(
        "cancellation.application.cancelled_by_certificate",
        application,
        answer,
        ctx,
        {
            "certificate_no": body.certificate_no,
            "sha256": body.certificate.sha256,
            "signed_by": checked.signed_by,
            "signer_keys": list(checked.signer_keys),
        },
    )
    return application


def _record_applicant_progress(
    answer: NotaryAnswer, position: int, *, moment: str, at: dt.datetime, tag: str, ctx: RequestContext
) -> Applicant | None:
    """Keep the first time a buyer reached ``moment`` (``started_at`` or ``submitted_at``) on their phone."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, _push = found
    if application.status != ApplicationStatus.AWAITING_BUYERS:
        raise InvalidTransition(
            gettext_lazy("申请当前状态为「%(status)s」，不接收买受人办理进度"),
            params={"status": ApplicationStatus(application.status).label},
        )
    applicant = application.applicants.filter(position=position).first()
    if applicant is None:
        raise InvalidTransition(gettext_lazy("本申请没有第%(position)s位申请人"), params={"position": position})
    if getattr(applicant, moment) is None:
        setattr(applicant, moment, at)
        applicant.save(update_fields=[moment, "updated_at"])
    _audit_answer(tag, application, answer, ctx, {"applicant": applicant.name, "position": position})
    return applicant


@transaction.atomic
def applicant_record_start(
    *, answer: NotaryAnswer, position: int, started_at: dt.datetime, ctx: RequestContext
) -> Applicant | None:
    """buyer.started: one buyer began on the phone; the operator's page shows them 进行中."""
    return _record_applicant_progress(
        answer, position, moment="started_at", at=started_at, tag="cancellation.applicant.started", ctx=ctx
    )


@transaction.atomic
def applicant_record_submission(
    *, answer: NotaryAnswer, position: int, submitted_at: dt.datetime, ctx: RequestContext
) -> Applicant | None:
    """buyer.submitted: one buyer finished on the phone; from now on a revoke is refused at once."""
    return _record_applicant_progress(
        answer, position, moment="submitted_at", at=submitted_at, tag="cancellation.applicant.submitted", ctx=ctx
    )


@transaction.atomic
def application_record_all_submitted(
    *, answer: NotaryAnswer, submitted: Sequence[tuple[int, dt.datetime]], ctx: RequestContext
) -> Application | None:
    """buyers.submitted: every buyer is done; the notary office reviews (and will refuse a revoke still on its way)."""
    found = _answered(answer, ctx)
    if found is None:
        return None
    application, _push = found
    target = application_move(application, "all_buyers_submitted")
    for position, when in submitted:
        application.applicants.filter(position=position, submitted_at__isnull=True).update(submitted_at=when)
    application.status = target
    application.save(update_fields=["status", "updated_at"])
    _audit_answer(
        "cancellation.application.buyers_submitted", application, answer, ctx, {"positions": [p for p, _ in submitted]}
    )
    return application


def certificate_read(
    application: Application, *, actor: Actor, ctx: RequestContext
) -> tuple[ReceivedCertificate, bytes]:
    """The certificate as received, checked against the SHA-256 recorded on receipt; every read is audited."""
    certificate = application_certificate(application)
    if certificate is None:
        raise NotFound(gettext_lazy("该申请尚未收到公证书"))
    with certificate.content.open("rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != certificate.sha256:
        logger.error(
            "stored certificate %s of application %s no longer matches its hash", certificate.pk, application.pk
        )
        raise DomainError(
            text=gettext_lazy("公证书的存储文件与收到时记录的 SHA-256 不一致，已停止提供；请联系系统管理员核查"),
            code="certificate_altered",
            http_status=409,
        )
    audit_application(
        "cancellation.certificate.downloaded",
        application,
        actor=actor,
        ctx=ctx,
        data={"certificate_no": certificate.certificate_no, "sha256": certificate.sha256},
    )
    return certificate, content
