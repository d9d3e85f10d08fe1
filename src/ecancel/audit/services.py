"""record_event: the only way anything is written to the audit log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from ecancel.audit.models import AuditChainHead, AuditEvent
from ecancel.core.context import RequestContext, canonical_ip

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation, User

GENESIS = "0" * 64


class ChainCheckpoint(Protocol):
    """What verification needs of a checkpoint: the chain's length then, its last hash, and a name for it."""

    @property
    def rows(self) -> int: ...

    @property
    def head_hash(self) -> str: ...

    @property
    def label(self) -> str: ...


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


# How many of a sweep's removed names its audit event keeps.
SWEPT_NAMES_KEPT = 200


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
    """Write one event in the caller's transaction (it commits or rolls back with the change).

    The row takes no lock: it is chained by ``audit_chain_extend`` once the transaction commits. A process
    that dies in between leaves the row committed and unchained; the next extension (any later commit, the
    beat task, ``audit_checkpoint``) chains it, so nothing recorded is lost.
    """
    ctx = ctx or RequestContext.system()
    if organisation is None and actor is not None and getattr(actor, "organisation_id", None):
        organisation = actor.organisation
    event = AuditEvent(
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
    )
    event.save(force_insert=True)
    transaction.on_commit(_chain_after_commit, robust=True)
    return event


def record_swept(tag: str, removed: list[str], *, ctx: RequestContext | None) -> None:
    """A sweep's event when it removed files left behind: how many, and the first names (enough to look into)."""
    if removed:
        record_event(tag, data={"count": len(removed), "names": removed[:SWEPT_NAMES_KEPT]}, ctx=ctx)


def _chain_after_commit() -> None:
    # A transaction that recorded several events registers this several times; the first chains them all.
    if AuditEvent.objects.filter(seq__isnull=True).exists():
        audit_chain_extend(wait=False)


def audit_chain_extend(*, wait: bool = True, batch_size: int = 500) -> int:
    """Chain every committed unchained event, in the order they were written; returns how many.

    The head row is locked only for this short step (read a batch, hash it, write it back), never while a
    caller renders, signs or waits on anything. With ``wait=False`` (after each commit) a caller that finds
    another one chaining leaves the work to it and returns at once: that one keeps going until no unchained
    row is left, and a row it still missed is taken by the next commit or by beat's ``chain_extend``.
    """
    chained = 0
    while True:
        with transaction.atomic():
            head = AuditChainHead.objects.select_for_update(skip_locked=not wait).filter(id=1).first()
            if head is None and not wait and AuditChainHead.objects.filter(id=1).exists():
                return chained
            if head is None:
                head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
            pending = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id")[:batch_size])
            seq, prev_hash = head.seq, head.row_hash
            for event in pending:
                seq += 1
                event.seq, event.prev_hash = seq, prev_hash
                event.row_hash = prev_hash = event_digest(hashed_fields(event), prev_hash)
            if pending:
                AuditEvent.objects.bulk_update(pending, ["seq", "prev_hash", "row_hash"])
                head.seq, head.row_hash = seq, prev_hash
                head.save(update_fields=["seq", "row_hash"])
        chained += len(pending)
        if not pending:
            return chained


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str = ""
    unchained: int = 0


def audit_chain_verify(batch_size: int = 2000, *, checkpoints: Sequence[ChainCheckpoint] | None = None) -> ChainReport:
    """Walk the chain in order; name the first row whose content, link or position is wrong.

    Each checkpoint (the chain's length and last hash at the time it was taken, kept outside the database)
    must still be a prefix of the chain: a rewritten stretch is named from the last checkpoint that still
    matches, and rows cut off the end are named by number.
    """
    expected = {c.rows: c for c in checkpoints or ()}
    matched = 0
    prev_hash = GENESIS
    expected_seq = 1
    rows = 0
    chained = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    for event in chained.iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(False, rows, expected_seq, f"row #{expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(False, rows, event.seq, f"row #{event.seq} does not link to the row before it")
        if event_digest(hashed_fields(event), prev_hash) != event.row_hash:
            return ChainReport(False, rows, event.seq, f"row #{event.seq} was altered")
        checkpoint = expected.get(event.seq)
        if checkpoint is not None and checkpoint.head_hash != event.row_hash:
            return ChainReport(
                False,
                rows,
                matched + 1,
                f"rows #{matched + 1}–#{event.seq} were rewritten: row #{event.seq} differs from the checkpoint "
                f"of {checkpoint.label} / 第 {matched + 1}–{event.seq} 条被改写（与检查点不符）",
            )
        if checkpoint is not None:
            matched = event.seq
        prev_hash = event.row_hash
        expected_seq += 1
        rows += 1
    longest = max(expected.values(), key=lambda c: c.rows, default=None)
    if longest is not None and longest.rows > rows:
        return ChainReport(
            False,
            rows,
            rows + 1,
            f"检查点记录 {longest.rows} 条，数据库只有 {rows} 条：缺少第 {rows + 1}–{longest.rows} 条 / "
            f"the checkpoint of {longest.label} records {longest.rows} rows, the database has {rows}: "
            f"rows #{rows + 1}–#{longest.rows} are missing",
        )
    unchained = AuditEvent.objects.filter(seq__isnull=True).count()
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.seq != rows:
        return ChainReport(False, rows, rows + 1, f"rows after #{rows} are missing (head says {head.seq})", unchained)
    return ChainReport(True, rows, unchained=unchained)
