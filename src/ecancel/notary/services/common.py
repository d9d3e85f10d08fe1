"""What the case services share: telling the seller about a case, the buyers who have submitted."""

from __future__ import annotations

from ecancel.exchange.messages import Message
from ecancel.exchange.services import outbox_put
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole


def submitted_buyers(case: NotaryCase) -> list[CaseParty]:
    return list(case.parties.filter(role=PartyRole.BUYER, submitted_at__isnull=False).order_by("position"))


def tell_seller(case: NotaryCase, message: type[Message], **fields: object) -> None:
    """A message about ``case`` to the seller who pushed it, naming the application version and the case."""
    body = message.model_validate(
        {
            "application_ref": case.application_ref,
            "version": case.application_version,
            "case_ref": case.pk,
            "case_no": case.case_number,
            **fields,
        }
    )
    outbox_put(
        sender=case.office.organisation,
        recipient=case.seller,
        message_type=message.TYPE,
        body=body.model_dump(mode="json"),
    )
