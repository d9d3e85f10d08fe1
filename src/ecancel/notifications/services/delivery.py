"""Sending to external channels: after commit, retried with back-off kept in the row, never twice.

A delivery is claimed before it is sent: under a row lock (``SKIP LOCKED`` on PostgreSQL) its status moves
from 待发送 to 发送中 only if status and attempt count are still what was read (compare-and-set), with a lease in
``next_attempt_at``. A sent row is final and never claimed again. A process that dies while sending leaves the
row 发送中; when its lease runs out the beat sweep claims it again — the one case where a gateway may see a
message twice, which is why every request carries the delivery id as ``Idempotency-Key``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ecancel.audit.services import record_event
from ecancel.core.transitions import transition
from ecancel.notifications.channels import (
    ChannelRefused,
    ChannelUnavailable,
    OutgoingMessage,
    Receipt,
    channel_for,
)
from ecancel.notifications.contacts import mask_address, seal, unseal
from ecancel.notifications.events import EVENTS, render
from ecancel.notifications.models import Delivery, Notification, OneTimeCode
from ecancel.notifications.transitions import DELIVERY_MOVES, DeliveryStatus

logger = logging.getLogger(__name__)
_jitter = secrets.SystemRandom()


def delivery_create(
    *,
    kind: str,
    address: str,
    event: str,
    params: Mapping[str, str],
    language: str,
    now: datetime,
    notification: Notification | None = None,
    one_time_code: OneTimeCode | None = None,
    expires_at: datetime | None = None,
) -> Delivery:
    """A row to send in the caller's transaction; the address and parameters are sealed to it."""
    delivery = Delivery(
        kind=kind,
        notification=notification,
        one_time_code=one_time_code,
        recipient=notification.recipient if notification else "",
        topic=notification.topic if notification else "",
        event=event,
        language=language,
        address_masked=mask_address(kind, address),
        next_attempt_at=now,
        expires_at=expires_at,
    )
    delivery.payload_sealed = seal({"address": address, "params": dict(params)}, bound_to=_bound(delivery.pk))
    delivery.save(force_insert=True)
    return delivery


def send_after_commit(deliveries: Iterable[Delivery]) -> None:
    """Queue sending once the caller's transaction commits; the beat sweep covers a queue that is down."""
    ids = [str(d.pk) for d in deliveries]
    if ids:
        transaction.on_commit(partial(_queue, ids), robust=True)


def _queue(ids: list[str]) -> None:
    from ecancel.notifications.tasks import send_delivery

    for delivery_id in ids:
        send_delivery.delay(delivery_id)


def _bound(delivery_id: UUID) -> str:
    return f"delivery:{delivery_id}"


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off with jitter: about base·2^(n-1), capped, drawn from its upper half."""
    ceiling = min(float(settings.ECANCEL_NOTIFY_RETRY_CAP), settings.ECANCEL_NOTIFY_RETRY_BASE * 2 ** (attempts - 1))
    return timedelta(seconds=ceiling * _jitter.uniform(0.5, 1.0))


def delivery_send(*, delivery_id: UUID, now: datetime | None = None) -> bool:
    """First attempt at one delivery (what the task queued after commit runs), or a due retry; True if it went out.

    A delivery never tried is claimed whatever its ``next_attempt_at``: it was created by a clock the caller
    passed in, which may differ from this process's.
    """
    now = now or timezone.now()
    return any([_send(row, now) for row in _claim_due(now, limit=1, delivery_id=delivery_id)])


def deliveries_send_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Send up to ``limit`` due deliveries — retries, and rows a dead process left — ; returns how many went out."""
    now = now or timezone.now()
    return sum(_send(row, now) for row in _claim_due(now, limit=limit))


def _claim_due(now: datetime, *, limit: int, delivery_id: UUID | None = None) -> list[Delivery]:
    open_rows = Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.SENDING)
    if delivery_id is None:
        due = Delivery.objects.filter(open_rows, next_attempt_at__lte=now)
    else:
        never_tried = Q(status=DeliveryStatus.PENDING, attempts=0)
        due = Delivery.objects.filter(open_rows & (Q(next_attempt_at__lte=now) | never_tried), pk=delivery_id)
    claimed = []
    with transaction.atomic():
        rows = list(due.select_for_update(skip_locked=True).order_by("next_attempt_at", "created_at")[:limit])
        for row in rows:
            if row.expires_at is not None and row.expires_at <= now:
                _give_up(row, "expired before it could be sent")
                continue
            if row.status == DeliveryStatus.SENDING:
                logger.warning("notification delivery %s taken over: its sender's lease ran out", row.pk)
            target = transition(row, "claim", DELIVERY_MOVES, DeliveryStatus)
            won = Delivery.objects.filter(pk=row.pk, status=row.status, attempts=row.attempts).update(
                status=target,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                next_attempt_at=now + timedelta(seconds=settings.ECANCEL_NOTIFY_LEASE),
                updated_at=now,
            )
            if won:
                row.status, row.attempts = target, row.attempts + 1
                claimed.append(row)
    return claimed


def _send(row: Delivery, now: datetime) -> bool:
    text = EVENTS.get(row.event)
    if text is None:
        _attempt_failed(row.pk, f"unknown event {row.event!r}", retryable=False, now=now)
        return False
    try:
        payload = unseal(row.payload_sealed, bound_to=_bound(row.pk))
        title, body = render(row.event, text.title, text.body, payload["params"], row.language)
        channel = channel_for(row.kind)
    except Exception as exc:  # a key or a setting on our side: counted, retried, given up in the end
        logger.exception("notification delivery %s could not be prepared", row.pk)
        _attempt_failed(row.pk, f"{type(exc).__name__}: {exc}", retryable=True, now=now)
        return False
    message = OutgoingMessage(
        delivery_id=str(row.pk),
        kind=row.kind,
        address=payload["address"],
        event=row.event,
        title=title,
        body=body,
        topic=row.topic,
        language=row.language,
        occurred_at=row.created_at,
    )
    try:
        receipt = channel.send(message)
    except ChannelUnavailable as exc:
        _attempt_failed(row.pk, str(exc), retryable=True, now=now)
        return False
    except ChannelRefused as exc:
        _attempt_failed(row.pk, str(exc), retryable=False, now=now)
        return False
    _mark_sent(row.pk, receipt, now=now)
    return True


@transaction.atomic
def _mark_sent(delivery_id: UUID, receipt: Receipt, *, now: datetime) -> None:
    row = Delivery.objects.select_for_update().get(pk=delivery_id)
    if row.status != DeliveryStatus.SENDING:
        return
    row.status = transition(row, "sent", DELIVERY_MOVES, DeliveryStatus)
    row.sent_at = now
    row.gateway_reference = receipt.reference
    row.payload_sealed = row.last_error = ""
    row.save(update_fields=["status", "sent_at", "gateway_reference", "payload_sealed", "last_error", "updated_at"])
    record_event(
        "notifications.delivery.sent",
        obj=row,
        data={"kind": row.kind, "event": row.event, "attempts": row.attempts, "to": row.address_masked},
    )


@transaction.atomic
def _attempt_failed(delivery_id: UUID, error: str, *, retryable: bool, now: datetime) -> None:
    row = Delivery.objects.select_for_update().get(pk=delivery_id)
    if row.status != DeliveryStatus.SENDING:
        return
    row.last_error = error[:2000]
    retry_at = now + retry_delay(row.attempts)
    in_time = row.expires_at is None or retry_at < row.expires_at
    if retryable and row.attempts < settings.ECANCEL_NOTIFY_MAX_ATTEMPTS and in_time:
        row.status = transition(row, "retry", DELIVERY_MOVES, DeliveryStatus)
        row.next_attempt_at = retry_at
        row.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
        logger.warning(
            "notification delivery %s attempt %s failed, retry at %s: %s", row.pk, row.attempts, retry_at, error
        )
        return
    _give_up(row, error)


def _give_up(row: Delivery, error: str) -> None:
    row.status = transition(row, "give_up", DELIVERY_MOVES, DeliveryStatus)
    row.last_error = error[:2000]
    row.payload_sealed = ""
    row.save(update_fields=["status", "last_error", "payload_sealed", "updated_at"])
    record_event(
        "notifications.delivery.failed",
        obj=row,
        result="error",
        data={
            "kind": row.kind,
            "event": row.event,
            "attempts": row.attempts,
            "to": row.address_masked,
            "error": row.last_error,
        },
    )
    logger.error("notification delivery %s (%s) given up after %s attempts: %s", row.pk, row.kind, row.attempts, error)
