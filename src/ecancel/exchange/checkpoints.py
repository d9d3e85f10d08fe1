"""Audit checkpoints across deployments: write one here and send it to every peer; keep the peers' ones.

A peer's copy is the part of the evidence that whoever controls this deployment cannot reach: a log cut
short or rewritten here no longer matches what the other deployment holds.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.audit.checkpoints import Checkpoint, checkpoint_payload, checkpoint_write
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange import keys
from ecancel.exchange.handlers import ReceivedMessage
from ecancel.exchange.messages import AuditCheckpoint
from ecancel.exchange.models import Peer, PeerAuditCheckpoint
from ecancel.exchange.routing import hosted_kinds


def checkpoint_sender() -> Organisation | None:
    """The organisation that speaks for this deployment: its filing authority, else its first notary office."""
    preference = Case(
        When(kind=OrganisationKind.FILING_AUTHORITY, then=Value(0)),
        When(kind=OrganisationKind.NOTARY_OFFICE, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Organisation.objects.filter(kind__in=hosted_kinds())
        .annotate(preference=preference)
        .order_by("preference", "created_at", "pk")
        .first()
    )


def audit_checkpoint_publish(*, ctx: RequestContext | None = None) -> tuple[Checkpoint, int]:
    """Write a signed, timestamped checkpoint and queue it to every active peer; returns it and how many."""
    from ecancel.documents.timestamps import timestamp_token
    from ecancel.exchange.services import outbox_put

    checkpoint = checkpoint_write(timestamper=timestamp_token, ctx=ctx)
    sender = checkpoint_sender()
    peers = list(Peer.objects.filter(active=True).select_related("organisation")) if sender else []
    body = AuditCheckpoint(
        rows=checkpoint.rows,
        head_hash=checkpoint.head_hash,
        created_at=checkpoint.created_at,
        public_key=checkpoint.public_key,
        signature=checkpoint.signature,
        timestamp_token=checkpoint.timestamp_token,
    )
    with transaction.atomic():
        for peer in peers:
            assert sender is not None
            outbox_put(sender=sender, recipient=peer.organisation, body=body)
    return checkpoint, len(peers)


def on_audit_checkpoint(message: ReceivedMessage) -> None:
    """Keep a peer's checkpoint once its signature checks; a chain that got shorter is raised as an alert."""
    body = message.parsed(AuditCheckpoint)
    payload = checkpoint_payload(body.rows, body.head_hash, body.created_at)
    try:
        keys.load_public_key(body.public_key).verify(base64.b64decode(body.signature, validate=True), payload)
    except (ValueError, binascii.Error, InvalidSignature) as exc:
        raise DomainError(text=_("审计检查点的签名无效"), code="bad_checkpoint") from exc
    previous = PeerAuditCheckpoint.objects.filter(sender=message.sender).order_by("-taken_at").first()
    stored = PeerAuditCheckpoint.objects.create(
        sender=message.sender,
        message_id=message.id,
        rows=body.rows,
        head_hash=body.head_hash,
        taken_at=body.created_at,
        public_key=body.public_key,
        signature=body.signature,
        timestamp_token=body.timestamp_token,
    )
    shrank = previous is not None and previous.rows > body.rows
    record_event(
        "exchange.audit_checkpoint.shrank" if shrank else "exchange.audit_checkpoint.received",
        organisation=message.recipient,
        obj=stored,
        data={
            "sender": str(message.sender.pk),
            "rows": body.rows,
            "previous_rows": previous.rows if previous else None,
        },
        ctx=message.ctx,
        result="error" if shrank else "ok",
    )
