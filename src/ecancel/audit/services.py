"""record_event: the only way anything is written to the audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from ecancel.audit.models import AuditChainHead, AuditEvent
from ecancel.core.context import RequestContext, canonical_ip

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation, User

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_digest(fields: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{canonical_json(fields)}".encode()).hexdigest()


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    """The content a row's hash covers: everything but the hashes themselves."""
    occurred: datetime = event.occurred_at
    return {
        "seq": event.seq,
        "occurred_at": occurred.astimezone(UTC).isoformat(timespec="microseconds"),
        "tag": event.tag,
        "result": event.result,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "organisation_id": str(event.organisation_id) if event.organisation_id else None,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
    }


def record_event(
    tag: str,
    *,
    actor: User | None = None,
    organisation: Organisation | None = None,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ctx: RequestContext | None = None,
    result: str = "ok",
    actor_label: str = "",
) -> AuditEvent:
    """Append one event; joins the caller's transaction so it commits or rolls back with the change."""
    ctx = ctx or RequestContext.system()
    if organisation is None and actor is not None and getattr(actor, "organisation_id", None):
        organisation = actor.organisation
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            seq=head.seq + 1,
            occurred_at=timezone.now(),
            tag=tag,
            result=result,
            actor=actor if actor is not None and actor.pk else None,
            actor_label=actor_label or (str(actor) if actor is not None else ""),
            organisation=organisation,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            data=json.loads(canonical_json(data or {})),
            ip=canonical_ip(ctx.ip),
            user_agent=ctx.user_agent,
            request_id=ctx.request_id,
            prev_hash=head.row_hash,
        )
        event.row_hash = event_digest(hashed_fields(event), event.prev_hash)
        event.save(force_insert=True)
        head.seq, head.row_hash = event.seq, event.row_hash
        head.save(update_fields=["seq", "row_hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str = ""


def audit_chain_verify(batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order; name the first row whose content, link or position is wrong."""
    prev_hash = GENESIS
    expected_seq = 1
    rows = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(False, rows, expected_seq, f"row #{expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(False, rows, event.seq, f"row #{event.seq} does not link to the row before it")
        if event_digest(hashed_fields(event), prev_hash) != event.row_hash:
            return ChainReport(False, rows, event.seq, f"row #{event.seq} was altered")
        prev_hash = event.row_hash
        expected_seq += 1
        rows += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.seq != rows:
        return ChainReport(False, rows, rows + 1, f"rows after #{rows} are missing (head says {head.seq})")
    return ChainReport(True, rows)
