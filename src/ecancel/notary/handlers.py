"""What the notary side does with messages from the filing side; registered in ``NotaryConfig.ready``."""

from __future__ import annotations

from ecancel.exchange.handlers import ReceivedMessage, register_handler
from ecancel.exchange.messages import MaterialsPushed, MaterialsRepushed, RevokeRequested
from ecancel.notary.services.intake import Intake, case_intake
from ecancel.notary.services.revoke import RevokeRequest, revoke_request_handle


def on_materials_pushed(message: ReceivedMessage) -> None:
    """收案, for a first push and for a corrected re-push alike (the body says which version)."""
    body = message.parsed(MaterialsPushed)
    files = {name: message.attachment(name) for name in message.attachment_names}
    case_intake(
        intake=Intake(
            message_id=message.id, sender=message.sender, recipient=message.recipient, body=body, files=files
        ),
        ctx=message.ctx,
    )


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
    register_handler(MaterialsPushed.TYPE, on_materials_pushed)
    register_handler(MaterialsRepushed.TYPE, on_materials_pushed)
    register_handler(RevokeRequested.TYPE, on_revoke_requested)
