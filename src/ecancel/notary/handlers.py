"""What the notary side does with messages from the filing side; registered in ``NotaryConfig.ready``."""

from __future__ import annotations

from ecancel.accounts.models import OrganisationKind
from ecancel.documents.pki import organisation_signing_pins
from ecancel.exchange.handlers import ReceivedMessage, register_handler
from ecancel.exchange.messages import MaterialsPushed, MaterialsRepushed, RevokeRequested
from ecancel.exchange.pins import register_hosted_pins
from ecancel.notary.services.intake import Intake, MaterialsVerdict, case_intake, materials_verdict
from ecancel.notary.services.revoke import RevokeRequest, revoke_request_handle


def _intake_of(message: ReceivedMessage) -> Intake:
    body = message.parsed(MaterialsPushed)
    files = {name: message.attachment(name) for name in message.attachment_names}
    return Intake(message_id=message.id, sender=message.sender, recipient=message.recipient, body=body, files=files)


def check_pushed_materials(message: ReceivedMessage) -> MaterialsVerdict:
    """The prepare step of a push: its PDFs' signatures checked before the inbox transaction takes any lock."""
    return materials_verdict(_intake_of(message))


def on_materials_pushed(message: ReceivedMessage) -> None:
    """收案, for a first push and for a corrected re-push alike (the body says which version)."""
    case_intake(intake=_intake_of(message), checked=message.prepared, ctx=message.ctx)


def on_revoke_requested(message: ReceivedMessage) -> None:
    body = message.parsed(RevokeRequested)
    revoke_request_handle(
        request=RevokeRequest(
            message_id=message.id,
            sender=message.sender,
            recipient=message.recipient,
            application_ref=body.application_ref,
            version=body.version,
            requested_by=body.requested_by,
            reason=body.reason,
        ),
        ctx=message.ctx,
    )


def register() -> None:
    # The office's documents (the 公证书 above all) are checked against the key it signs them with here.
    register_hosted_pins(OrganisationKind.NOTARY_OFFICE, organisation_signing_pins)
    register_handler(MaterialsPushed.TYPE, on_materials_pushed, prepare=check_pushed_materials)
    register_handler(MaterialsRepushed.TYPE, on_materials_pushed, prepare=check_pushed_materials)
    register_handler(RevokeRequested.TYPE, on_revoke_requested)
