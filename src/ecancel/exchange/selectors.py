"""Reads of the exchange: what was sent or received about an application, and how it went."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from ecancel.accounts.models import Organisation
from ecancel.exchange.envelope import EnvelopeInvalid, parse_envelope
from ecancel.exchange.models import InboxMessage, OutboxMessage


def outbox_list(
    *,
    sender: Organisation | None = None,
    application_ref: UUID | str | None = None,
    message_type: str | None = None,
    status: str | None = None,
) -> QuerySet[OutboxMessage]:
    """Oldest first; pages can show "推送中 / 已送达 / 发送失败" with the last error."""
    rows = OutboxMessage.objects.defer("raw").order_by("created_at")
    if sender is not None:
        rows = rows.filter(sender=sender)
    if application_ref is not None:
        rows = rows.filter(stream=str(application_ref))
    if message_type is not None:
        rows = rows.filter(message_type=message_type)
    if status is not None:
        rows = rows.filter(status=status)
    return rows


def outbox_latest(
    *, sender: Organisation, application_ref: UUID | str, message_type: str | None = None
) -> OutboxMessage | None:
    return outbox_list(sender=sender, application_ref=application_ref, message_type=message_type).last()


def inbox_list(
    *,
    recipient: Organisation | None = None,
    application_ref: UUID | str | None = None,
    message_type: str | None = None,
) -> QuerySet[InboxMessage]:
    rows = InboxMessage.objects.defer("raw").order_by("created_at")
    if recipient is not None:
        rows = rows.filter(recipient=recipient)
    if application_ref is not None:
        rows = rows.filter(stream=str(application_ref))
    if message_type is not None:
        rows = rows.filter(message_type=message_type)
    return rows


def inbox_body(*, recipient: Organisation, message_id: UUID | str) -> dict[str, Any] | None:
    """The body of one message ``recipient`` received, as its sender signed it; None if there is none."""
    row = InboxMessage.objects.filter(recipient=recipient, pk=message_id).only("raw").first()
    if row is None:
        return None
    try:
        return dict(parse_envelope(bytes(row.raw)).body)
    except EnvelopeInvalid:
        return None
