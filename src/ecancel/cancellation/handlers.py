"""What the filing side does with the notary office's answers; registered in ``CancellationConfig.ready()``.

Each handler runs inside the exchange inbox's transaction: the answer's effect happens exactly
once. An answer about an older version is kept (audited) and changes nothing.
"""

from __future__ import annotations

from ecancel.accounts.models import OrganisationKind
from ecancel.cancellation.services.answers import (
    CertificateCheck,
    NotaryAnswer,
    applicant_record_start,
    applicant_record_submission,
    application_record_acceptance,
    application_record_all_submitted,
    application_record_certificate,
    application_record_refusal,
    application_record_revoke_refused,
    application_record_revoked,
    certificate_check,
)
from ecancel.documents.pki import organisation_signing_pins
from ecancel.exchange.handlers import ReceivedMessage, register_handler
from ecancel.exchange.messages import (
    BuyersSubmitted,
    BuyerStarted,
    BuyerSubmitted,
    CaseAccepted,
    CaseRefused,
    CaseRevoked,
    CertificateIssued,
    Message,
    RevokeRefused,
)
from ecancel.exchange.pins import register_hosted_pins


def _answer(message: ReceivedMessage, body: Message) -> NotaryAnswer:
    return NotaryAnswer(
        notary_office=message.sender,
        seller=message.recipient,
        application_id=body.application_ref,
        version=body.version,
        message_id=str(message.id),
    )


def on_case_accepted(message: ReceivedMessage) -> None:
    body = message.parsed(CaseAccepted)
    application_record_acceptance(
        answer=_answer(message, body),
        case_ref=str(body.case_ref),
        case_number=body.case_no,
        handoff_url=body.handoff_url,
        handoff_expires_at=body.handoff_expires_at,
        accepted_at=body.accepted_at,
        ctx=message.ctx,
    )


def on_case_revoked(message: ReceivedMessage) -> None:
    body = message.parsed(CaseRevoked)
    application_record_revoked(answer=_answer(message, body), ctx=message.ctx)


def on_revoke_refused(message: ReceivedMessage) -> None:
    body = message.parsed(RevokeRefused)
    application_record_revoke_refused(answer=_answer(message, body), reason=body.reason, ctx=message.ctx)


def on_case_refused(message: ReceivedMessage) -> None:
    body = message.parsed(CaseRefused)
    # After review the notary names a reason from the shared list; its code is what the page and the figures show.
    code = body.reason_code.value if body.reason_code is not None else body.code
    application_record_refusal(answer=_answer(message, body), code=code, reason=body.reason, ctx=message.ctx)


def on_buyer_started(message: ReceivedMessage) -> None:
    body = message.parsed(BuyerStarted)
    applicant_record_start(
        answer=_answer(message, body), position=body.buyer.position, started_at=body.buyer.started_at, ctx=message.ctx
    )


def on_buyer_submitted(message: ReceivedMessage) -> None:
    body = message.parsed(BuyerSubmitted)
    applicant_record_submission(
        answer=_answer(message, body),
        position=body.buyer.position,
        submitted_at=body.buyer.submitted_at,
        ctx=message.ctx,
    )


def on_buyers_submitted(message: ReceivedMessage) -> None:
    body = message.parsed(BuyersSubmitted)
    application_record_all_submitted(
        answer=_answer(message, body),
        submitted=[(b.position, b.submitted_at) for b in body.buyers],
        ctx=message.ctx,
    )


def check_certificate(message: ReceivedMessage) -> CertificateCheck:
    """The prepare step of certificate.issued: its signature checked before the inbox transaction takes a lock."""
    body = message.parsed(CertificateIssued)
    return certificate_check(sender=message.sender, content=message.attachment(body.certificate.attachment))


def on_certificate_issued(message: ReceivedMessage) -> None:
    body = message.parsed(CertificateIssued)
    application_record_certificate(
        answer=_answer(message, body),
        body=body,
        content=message.attachment(body.certificate.attachment),
        checked=message.prepared,
        ctx=message.ctx,
    )


def register() -> None:
    # The developers' signed materials, pinned like the office's certificate (exported by exchange_identity).
    register_hosted_pins(OrganisationKind.DEVELOPER, organisation_signing_pins)
    register_handler(CaseAccepted.TYPE, on_case_accepted)
    register_handler(CaseRevoked.TYPE, on_case_revoked)
    register_handler(RevokeRefused.TYPE, on_revoke_refused)
    register_handler(CaseRefused.TYPE, on_case_refused)
    register_handler(BuyerStarted.TYPE, on_buyer_started)
    register_handler(BuyerSubmitted.TYPE, on_buyer_submitted)
    register_handler(BuyersSubmitted.TYPE, on_buyers_submitted)
    register_handler(CertificateIssued.TYPE, on_certificate_issued, prepare=check_certificate)
