"""The exchange's state changes: put a message in the outbox, relay it, accept it into the inbox.

Zero lost, zero duplicated effects: a message is written in the transaction of the change it
reports; the relay claims due rows with a lease (a relay that dies mid-way leaves them due again
after ``ECANCEL_EXCHANGE_LEASE``); the receiver stores each id once and applies its handler in
the same transaction, so a second delivery of the same message does nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation, OrganisationKind, User
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, Text, ValidationFailed
from ecancel.core.ratelimit import Rule, Verdict, rate_limiter
from ecancel.core.transitions import transition
from ecancel.exchange import keys
from ecancel.exchange.envelope import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    Envelope,
    EnvelopeInvalid,
    body_digest,
    build_envelope,
    parse_envelope,
    sha256_hex,
    verify_ed25519,
    verify_hmac,
)
from ecancel.exchange.errors import DuplicateMessage, ExchangeRefused
from ecancel.exchange.handlers import ReceivedMessage, handler_for, prepare_for
from ecancel.exchange.messages import ATTACHMENT_NAME, BodyProblem, Message, check_body
from ecancel.exchange.models import InboxMessage, OutboxMessage, Peer, Signing, Transport
from ecancel.exchange.pins import normalise_pins
from ecancel.exchange.routing import is_hosted, route_to, verifier_for
from ecancel.exchange.transitions import OUTBOX_MOVES, InboxStatus, OutboxStatus
from ecancel.exchange.transports import (
    DeliveryReceipt,
    PermanentDeliveryError,
    RetryableDeliveryError,
    transport_for,
)

logger = logging.getLogger(__name__)
_jitter = secrets.SystemRandom()


# --- sending -----------------------------------------------------------------------------------


def outbox_put(
    *,
    sender: Organisation,
    recipient: Organisation,
    body: Message,
    attachments: Mapping[str, bytes] | None = None,
) -> OutboxMessage:
    """Queue a message in the caller's transaction; it leaves only if that transaction commits.

    The body is a typed model on both sides, so mypy checks what is sent; it is parsed again here with the
    attachments, as the receiver will, so a document reference that does not match its file never leaves.
    """
    assert transaction.get_connection().in_atomic_block, "outbox_put must run inside the caller's transaction"
    files = dict(attachments or {})
    for name in files:
        if not ATTACHMENT_NAME.match(name):
            raise ValidationFailed(_("附件名称不合法：%(name)s"), params={"name": name})
    if not is_hosted(sender):
        raise ValidationFailed(
            _("「%(sender_name)s」不由本系统托管，不能以其名义发送消息"), params={"sender_name": sender.name}
        )
    message_type = body.TYPE
    parsed = check_body(
        message_type, body.model_dump(mode="json"), {name: sha256_hex(data) for name, data in files.items()}
    )
    if isinstance(parsed, BodyProblem):
        raise ValidationFailed(parsed.zh, parsed.en)
    _check_direction(parsed, sender, recipient, refuse=lambda text, params: ValidationFailed(text, params=params))
    route_to(recipient)
    normalised = parsed.model_dump(mode="json")
    now = timezone.now()
    message_id = uuid4()
    raw = build_envelope(
        message_id=message_id,
        message_type=message_type,
        sender_id=sender.pk,
        recipient_id=recipient.pk,
        created_at=now,
        body=normalised,
        attachments=files,
    )
    row = OutboxMessage.objects.create(
        id=message_id,
        message_type=message_type,
        sender=sender,
        recipient=recipient,
        stream=str(parsed.application_ref),
        raw=raw,
        body_sha256=body_digest(normalised),
        next_attempt_at=now,
    )
    record_event(
        "exchange.message.queued",
        organisation=sender,
        obj=row,
        data={"type": message_type, "recipient": str(recipient.pk), "application_ref": row.stream},
    )
    transaction.on_commit(_kick_relay, robust=True)
    return row


def _kick_relay() -> None:
    from ecancel.exchange.tasks import relay_outbox

    relay_outbox.delay()


def _check_direction(
    parsed: Message,
    sender: Organisation,
    recipient: Organisation,
    *,
    refuse: Callable[[Text, dict[str, Any]], DomainError],
) -> None:
    if sender.kind not in parsed.SENDER_KINDS or recipient.kind not in parsed.RECIPIENT_KINDS:
        raise refuse(
            _("「%(label)s」不能由%(sender_kind)s发给%(recipient_kind)s"),
            {
                "label": parsed.LABEL,
                "sender_kind": OrganisationKind(sender.kind).label,
                "recipient_kind": OrganisationKind(recipient.kind).label,
            },
        )


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off with jitter: about base·2^(n-1), capped, drawn from its upper half."""
    ceiling = min(
        float(settings.ECANCEL_EXCHANGE_RETRY_CAP), settings.ECANCEL_EXCHANGE_RETRY_BASE * 2 ** (attempts - 1)
    )
    return timedelta(seconds=ceiling * _jitter.uniform(0.5, 1.0))


def relay_due(*, limit: int = 50, now: datetime | None = None) -> int:
    """Deliver up to ``limit`` messages due at ``now`` (default: the current time); returns how many were delivered.

    Only the oldest pending message of each (sender, recipient, application) stream is due, so
    one application's messages arrive in the order they were written.
    """
    delivered = 0
    down: dict[str, str] = {}
    for row in _claim_due(limit, now or timezone.now()):
        if _deliver(row, down):
            delivered += 1
    return delivered


def _claim_due(limit: int, now: datetime) -> list[OutboxMessage]:
    earlier = OutboxMessage.objects.filter(
        status=OutboxStatus.PENDING,
        sender=OuterRef("sender"),
        recipient=OuterRef("recipient"),
        stream=OuterRef("stream"),
        created_at__lt=OuterRef("created_at"),
    )
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .exclude(Exists(earlier))
            .select_related("sender", "recipient")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "created_at")[:limit]
        )
        if rows:
            lease_until = now + timedelta(seconds=settings.ECANCEL_EXCHANGE_LEASE)
            OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
                attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=lease_until, updated_at=now
            )
            for row in rows:
                row.attempts += 1
    return rows


def _deliver(row: OutboxMessage, down: dict[str, str]) -> bool:
    try:
        route = route_to(row.recipient)
    except Exception as exc:  # noqa: BLE001 - counted as an attempt in _not_sent
        return _not_sent(row, exc)
    group = route.failure_group
    if group is not None and group in down:
        _attempt_failed(row.pk, f"not tried: {down[group]}", retryable=True)
        return False
    raw = bytes(row.raw)
    try:
        headers = route.sign(sender=row.sender, message_id=row.pk, raw=raw, timestamp=int(time.time()))
    except Exception as exc:  # noqa: BLE001 - counted as an attempt in _not_sent
        return _not_sent(row, exc)
    try:
        receipt = transport_for(route.transport).deliver(route=route, message_id=row.pk, raw=raw, headers=headers)
    except RetryableDeliveryError as exc:
        if group is not None:
            down[group] = str(exc)
        _attempt_failed(row.pk, str(exc), retryable=True)
        return False
    except PermanentDeliveryError as exc:
        _attempt_failed(row.pk, str(exc), retryable=False)
        return False
    _mark_delivered(row.pk, receipt)
    return True


def _not_sent(row: OutboxMessage, exc: Exception) -> bool:
    """Routing or signing failed on our side (no peer configured, a key or sealed secret unreadable).

    It counts as an attempt like a refused connection, so the row backs off and is given up with an
    alert in the end, instead of escaping the relay and coming back after every lease unnoticed.
    """
    if isinstance(exc, DomainError):
        error = exc.en
    else:
        logger.exception("exchange message %s could not be routed or signed", row.pk)
        error = f"{exc.__class__.__name__}: {exc}"
    _attempt_failed(row.pk, error, retryable=True)
    return False


@transaction.atomic
def _mark_delivered(message_id: UUID, receipt: DeliveryReceipt) -> None:
    row = OutboxMessage.objects.select_for_update().get(pk=message_id)
    if row.status != OutboxStatus.PENDING:
        return
    row.status = transition(row, "deliver", OUTBOX_MOVES, OutboxStatus)
    row.delivered_at = timezone.now()
    row.remote_status = receipt.status
    row.remote_note = receipt.note[:2000]
    row.last_error = ""
    row.save(update_fields=["status", "delivered_at", "remote_status", "remote_note", "last_error", "updated_at"])
    record_event(
        "exchange.message.delivered",
        organisation=row.sender,
        obj=row,
        data={"type": row.message_type, "attempts": row.attempts, "remote_status": receipt.status},
    )


@transaction.atomic
def _attempt_failed(message_id: UUID, error: str, *, retryable: bool) -> None:
    row = OutboxMessage.objects.select_for_update().get(pk=message_id)
    if row.status != OutboxStatus.PENDING:
        return
    now = timezone.now()
    row.last_error = error[:2000]
    too_long = now - row.created_at >= settings.ECANCEL_EXCHANGE_GIVE_UP_AFTER
    if retryable and row.attempts < settings.ECANCEL_EXCHANGE_MAX_ATTEMPTS and not too_long:
        row.next_attempt_at = now + retry_delay(row.attempts)
        row.save(update_fields=["last_error", "next_attempt_at", "updated_at"])
        logger.warning(
            "exchange message %s attempt %s failed, retry at %s: %s", row.pk, row.attempts, row.next_attempt_at, error
        )
        return
    row.status = transition(row, "give_up", OUTBOX_MOVES, OutboxStatus)
    row.save(update_fields=["status", "last_error", "updated_at"])
    record_event(
        "exchange.message.failed",
        organisation=row.sender,
        obj=row,
        result="error",
        data={
            "type": row.message_type,
            "recipient": str(row.recipient_id),
            "attempts": row.attempts,
            "error": row.last_error,
        },
    )
    logger.error(
        "exchange message %s (%s to %s) given up after %s attempts: %s",
        row.pk,
        row.message_type,
        row.recipient_id,
        row.attempts,
        error,
    )


@transaction.atomic
def outbox_requeue(*, message_id: UUID, actor: User | None, ctx: RequestContext) -> OutboxMessage:
    """Send a failed message again (after the peer or its configuration was fixed)."""
    row = OutboxMessage.objects.select_for_update().get(pk=message_id)
    row.status = transition(row, "requeue", OUTBOX_MOVES, OutboxStatus)
    row.next_attempt_at = timezone.now()
    row.save(update_fields=["status", "next_attempt_at", "updated_at"])
    record_event("exchange.message.requeued", actor=actor, organisation=row.sender, obj=row, ctx=ctx)
    transaction.on_commit(_kick_relay, robust=True)
    return row


# --- receiving ---------------------------------------------------------------------------------


def inbox_accept(
    raw: bytes, headers: Mapping[str, str], *, ctx: RequestContext | None = None, now: datetime | None = None
) -> InboxMessage:
    """Verify, store once and apply a received message; raise ExchangeRefused (audited) otherwise.

    The signature's timestamp must lie within the allowed clock skew of ``now`` (default: the current time).
    The handler's prepare step, if it has one, runs before the transaction (see ``exchange.handlers``).

    ``DuplicateMessage`` (HTTP 200) means the very same message was already received. A handler's
    ``DomainError`` stores the row as rejected; any other exception rolls everything back.
    """
    ctx = ctx or RequestContext.system("exchange")
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        envelope, sender, recipient, signed_at, payload = _verify(raw, lowered, now or timezone.now())
        message = _prepared(
            ReceivedMessage(
                id=envelope.id,
                type=envelope.type,
                sender=sender,
                recipient=recipient,
                body=envelope.body,
                payload=payload,
                created_at=envelope.created_at,
                received_at=timezone.now(),
                ctx=ctx,
                envelope=envelope,
            )
        )
        with transaction.atomic():
            return _store_and_apply(raw, lowered, message, signed_at)
    except ExchangeRefused as refusal:
        inbox_refusal_note(refusal, ctx=ctx, raw=raw, headers=lowered)
        raise
    except Exception as exc:
        logger.exception("applying exchange message %s failed; the sender will retry", lowered.get(HEADER_ID))
        record_event(
            "exchange.message.error",
            ctx=ctx,
            result="error",
            data={"message_id": lowered.get(HEADER_ID, "")[:64], "error": f"{exc.__class__.__name__}: {exc}"[:500]},
        )
        raise


def _refuse(code: str, status: int = 400, *, detail: str = "") -> ExchangeRefused:
    return ExchangeRefused(code, http_status=status, detail=detail)


def _verify(
    raw: bytes, headers: Mapping[str, str], now: datetime
) -> tuple[Envelope, Organisation, Organisation, datetime, Message]:
    message_id, timestamp_text, signature = (
        headers.get(h, "") for h in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)
    )
    if not (message_id and timestamp_text and signature):
        raise _refuse("missing_headers", detail=f"missing {HEADER_ID}/{HEADER_TIMESTAMP}/{HEADER_SIGNATURE}")
    if len(raw) > settings.ECANCEL_EXCHANGE_MAX_BYTES:
        raise _refuse("too_large", 413)
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise _refuse("bad_timestamp", detail="timestamp is not an integer") from None
    try:
        envelope = parse_envelope(raw)
    except EnvelopeInvalid as exc:
        raise _refuse("malformed", detail=str(exc)) from None
    if str(envelope.id) != message_id:
        raise _refuse("id_mismatch", detail=f"{HEADER_ID} differs from the envelope id")
    recipient = Organisation.objects.filter(pk=envelope.recipient_id).first()
    if recipient is None or not is_hosted(recipient):
        raise _refuse("wrong_recipient")
    sender = Organisation.objects.filter(pk=envelope.sender_id).first()
    verifier = verifier_for(sender, now=now) if sender is not None else None
    if sender is None or verifier is None:
        raise _refuse("unknown_sender", 401)
    if verifier.signing == Signing.HMAC_SHA256:
        valid = verify_hmac(verifier.hmac_secret, message_id, timestamp, raw, signature)
    else:
        valid = any(verify_ed25519(key, message_id, timestamp, raw, signature) for key in verifier.public_keys)
    if not valid:
        raise _refuse("bad_signature", 401)
    skew = abs(now.timestamp() - timestamp)
    if skew > settings.ECANCEL_EXCHANGE_CLOCK_SKEW:
        raise _refuse(
            "stale_timestamp",
            401,
            detail=f"timestamp outside the ±{settings.ECANCEL_EXCHANGE_CLOCK_SKEW} s window ({int(skew)} s off)",
        )
    if body_digest(envelope.body) != envelope.body_sha256:
        raise _refuse("body_hash_mismatch")
    try:
        for name in envelope.attachments:
            if not ATTACHMENT_NAME.match(name):
                raise EnvelopeInvalid(f"invalid attachment name {name!r}")
            envelope.attachment_bytes(name)
    except EnvelopeInvalid as exc:
        raise _refuse("attachment_mismatch", detail=str(exc)) from None
    parsed = check_body(envelope.type, envelope.body, envelope.attachment_hashes())
    if isinstance(parsed, BodyProblem):
        raise _refuse("invalid_body", 422, detail=parsed.en)
    _check_direction(
        parsed,
        sender,
        recipient,
        refuse=lambda text, params: _refuse(
            "wrong_direction", 422, detail=f"{parsed.TYPE} cannot go from a {sender.kind} to a {recipient.kind}"
        ),
    )
    if handler_for(envelope.type) is None:
        raise ExchangeRefused(
            "no_handler",
            _("本系统不处理「%(label)s」消息"),
            params={"label": parsed.LABEL},
            http_status=422,
            detail=f"no handler for {envelope.type} here",
        )
    existing = InboxMessage.objects.filter(pk=envelope.id).first()
    if existing is not None:
        raise _duplicate_or_conflict(raw, message_id, existing)
    return envelope, sender, recipient, datetime.fromtimestamp(timestamp, tz=UTC), parsed


def _duplicate_or_conflict(raw: bytes, message_id: str, existing: InboxMessage | None = None) -> ExchangeRefused:
    if existing is None:
        existing = InboxMessage.objects.filter(pk=message_id).first()
    if existing is None:
        return _refuse("busy", 409)
    if existing.raw_sha256 == sha256_hex(raw):
        return DuplicateMessage(existing)
    return _refuse("id_conflict", 409)


def _prepared(message: ReceivedMessage) -> ReceivedMessage:
    """The message with its handler's prepare step done: outside any transaction, so no lock waits on it."""
    prepare = prepare_for(message.type)
    return message if prepare is None else replace(message, prepared=prepare(message))


def _store_and_apply(
    raw: bytes, headers: Mapping[str, str], message: ReceivedMessage, signed_at: datetime
) -> InboxMessage:
    envelope, sender, recipient, payload = message.envelope, message.sender, message.recipient, message.payload
    row = InboxMessage(
        id=envelope.id,
        message_type=envelope.type,
        sender=sender,
        recipient=recipient,
        stream=str(payload.application_ref),
        raw=raw,
        raw_sha256=sha256_hex(raw),
        signature=headers[HEADER_SIGNATURE],
        signed_at=signed_at,
        status=InboxStatus.APPLIED,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Another delivery of the same id committed first (PostgreSQL waits for it, then lands here).
        raise _duplicate_or_conflict(raw, str(envelope.id)) from None
    message = replace(message, received_at=row.created_at)
    handler = handler_for(envelope.type)
    assert handler is not None
    audit = {"type": envelope.type, "sender": str(sender.pk), "application_ref": str(payload.application_ref)}
    try:
        with transaction.atomic():
            handler(message)
    except DomainError as exc:
        row.status = InboxStatus.REJECTED
        row.reason, row.reason_en = exc.zh, exc.en
        row.save(update_fields=["status", "reason", "reason_en", "updated_at"])
        record_event(
            "exchange.message.rejected",
            organisation=recipient,
            obj=row,
            ctx=message.ctx,
            result="rejected",
            data={**audit, "code": exc.code, "reason": exc.zh},
        )
        return row
    record_event("exchange.message.applied", organisation=recipient, obj=row, ctx=message.ctx, data=audit)
    return row


def refusals_audited_rule() -> Rule:
    return Rule("exchange-refusal-audit", settings.ECANCEL_EXCHANGE_REFUSALS_AUDITED, timedelta(minutes=1))


def refusals_rule() -> Rule:
    return Rule("exchange-refusals", settings.ECANCEL_EXCHANGE_REFUSALS_MAX, timedelta(minutes=1))


def inbox_refusals_exhausted(ctx: RequestContext) -> Verdict | None:
    """The address's refusals this minute, when there were so many that it is to be answered 429 unread."""
    if ctx.ip is None:
        return None
    verdict = rate_limiter().peek(refusals_rule(), ctx.ip)
    return verdict if verdict.exhausted else None


def inbox_refusal_note(
    refusal: ExchangeRefused, *, ctx: RequestContext, raw: bytes = b"", headers: Mapping[str, str] | None = None
) -> None:
    """Log every refusal; audit only the first few per address per minute, so garbage cannot flood the chain.

    Refusals with no client address (in-process delivery) are always audited. The refused message itself
    changes nothing; the audit row is written in its own transaction.
    """
    headers = headers or {}
    logger.warning("exchange message refused: %s from %s", refusal.code, ctx.ip or ctx.via)
    if ctx.ip is not None:
        limiter = rate_limiter()
        if not isinstance(refusal, DuplicateMessage):  # a retry after a lost answer is no abuse
            limiter.hit(refusals_rule(), ctx.ip)
        audited = limiter.hit(refusals_audited_rule(), ctx.ip)
        if audited.count > audited.limit:
            return
    envelope: Envelope | None
    try:
        envelope = parse_envelope(raw)
    except EnvelopeInvalid:
        envelope = None
    recipient = Organisation.objects.filter(pk=envelope.recipient_id).first() if envelope else None
    record_event(
        "exchange.message.refused",
        organisation=recipient if recipient is not None and is_hosted(recipient) else None,
        ctx=ctx,
        result="refused",
        data={
            "code": refusal.code,
            "reason": refusal.zh,
            "detail": refusal.detail,
            "message_id": headers.get(HEADER_ID, "")[:64],
            "type": envelope.type[:40] if envelope else "",
            "sender": str(envelope.sender_id) if envelope else "",
            "raw_sha256": sha256_hex(raw),
        },
    )


# --- peers -------------------------------------------------------------------------------------


@transaction.atomic
def peer_set(
    *,
    organisation: Organisation,
    transport: str,
    endpoint_url: str = "",
    public_key: str = "",
    hmac_secret: bytes | None = None,
    document_signing_pins: Sequence[str] | None = None,
    active: bool = True,
    actor: User | None,
    ctx: RequestContext,
) -> Peer:
    """Add or change how ``organisation`` is reached and how its signatures are checked.

    ``document_signing_pins`` replaces the pins of its document-signing keys; None keeps them.
    """
    if transport not in Transport.values:
        raise ValidationFailed(_("未知的传输方式：%(transport)s"), params={"transport": transport})
    if transport == Transport.HTTP and not endpoint_url.startswith(("http://", "https://")):
        raise ValidationFailed(_("HTTP 传输需要对方的接收地址"))
    if transport == Transport.HTTP and settings.PRODUCTION and not endpoint_url.startswith("https://"):
        raise ValidationFailed(_("生产环境中对接地址必须使用 HTTPS"))
    if bool(public_key) == (hmac_secret is not None):
        raise ValidationFailed(_("请提供 Ed25519 公钥或共享密钥之一"))
    if public_key:
        try:
            keys.load_public_key(public_key)
        except ValueError:
            raise ValidationFailed(_("Ed25519 公钥格式错误")) from None
    if hmac_secret is not None and len(hmac_secret) < keys.MIN_HMAC_SECRET_BYTES:
        raise ValidationFailed(_("共享密钥至少需要 32 字节"))
    pins = normalise_pins(document_signing_pins) if document_signing_pins is not None else None
    peer = Peer.objects.select_for_update().filter(organisation=organisation).first() or Peer(organisation=organisation)
    if pins is not None:
        peer.document_signing_pins = pins
    peer.transport = transport
    peer.endpoint_url = endpoint_url
    peer.active = active
    if hmac_secret is not None:
        peer.signing = Signing.HMAC_SHA256
        peer.public_key = ""
        peer.hmac_secret_sealed = keys.seal_secret(hmac_secret, bound_to=str(organisation.pk))
    else:
        peer.signing = Signing.ED25519
        if peer.public_key != public_key:  # a key set by hand replaces the old one at once
            peer.previous_public_key, peer.previous_key_until = "", None
        peer.public_key = public_key
        peer.hmac_secret_sealed = ""
    peer.save()
    record_event(
        "exchange.peer.set",
        actor=actor,
        organisation=organisation,
        obj=peer,
        ctx=ctx,
        data={
            "transport": transport,
            "endpoint_url": endpoint_url,
            "signing": peer.signing,
            "active": active,
            "document_signing_pins": peer.document_signing_pins,
        },
    )
    return peer


@transaction.atomic
def peer_document_pins_change(
    *,
    organisation: Organisation,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    actor: User | None,
    ctx: RequestContext,
) -> Peer:
    """Pin a new document-signing key of a peer, or unpin an old one: to rotate, add the new before removing the old."""
    to_add, to_remove = normalise_pins(add), normalise_pins(remove)
    peer = Peer.objects.select_for_update().filter(organisation=organisation).first()
    if peer is None:
        raise ValidationFailed(
            _("「%(organisation_name)s」不是对接机构"), params={"organisation_name": organisation.name}
        )
    unknown = [pin for pin in to_remove if pin not in peer.document_signing_pins]
    if unknown:
        raise ValidationFailed(
            _("「%(organisation_name)s」没有登记这个证书公钥指纹：%(pin)s"),
            params={"organisation_name": organisation.name, "pin": unknown[0]},
        )
    kept = [pin for pin in peer.document_signing_pins if pin not in to_remove]
    peer.document_signing_pins = list(dict.fromkeys([*kept, *to_add]))
    peer.save(update_fields=["document_signing_pins", "updated_at"])
    record_event(
        "exchange.peer.pins_changed",
        actor=actor,
        organisation=organisation,
        obj=peer,
        ctx=ctx,
        data={"added": to_add, "removed": to_remove, "document_signing_pins": peer.document_signing_pins},
    )
    return peer


@transaction.atomic
def peer_deactivate(*, organisation: Organisation, actor: User | None, ctx: RequestContext) -> Peer:
    """Stop sending to and accepting from ``organisation``; queued messages wait (and retry) meanwhile."""
    peer = Peer.objects.select_for_update().filter(organisation=organisation).first()
    if peer is None:
        raise ValidationFailed(
            _("「%(organisation_name)s」不是对接机构"), params={"organisation_name": organisation.name}
        )
    peer.active = False
    peer.save(update_fields=["active", "updated_at"])
    record_event("exchange.peer.deactivated", actor=actor, organisation=organisation, obj=peer, ctx=ctx)
    return peer
