"""Sending to external channels: retried with back-off kept in the row, taken over from a dead process, never
sent twice, given up with an audit row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from ecancel.audit.models import AuditEvent
from ecancel.notifications.models import Delivery
from ecancel.notifications.services import deliveries_send_due, delivery_send
from ecancel.notifications.services.delivery import _claim_due
from ecancel.notifications.tasks import send_due
from ecancel.notifications.transitions import DeliveryStatus
from tests.notifications.gateway_fake import FakeGateway
from tests.notifications.helpers import status_changed, subscribe

pytestmark = pytest.mark.django_db


def sms_only() -> None:
    subscribe(channels=("sms",))


def test_gateway_down_then_up_is_retried_and_sent_exactly_once(
    down_gateway: FakeGateway, django_capture_on_commit_callbacks: Any
) -> None:
    sms_only()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
    after = timezone.now()
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.PENDING
    assert row.attempts == 1
    assert "ConnectError" in row.last_error
    # Back-off: base 30 s, drawn from its upper half, after an attempt made between before and after.
    assert before + timedelta(seconds=15) <= row.next_attempt_at <= after + timedelta(seconds=30)
    assert deliveries_send_due(now=row.next_attempt_at - timedelta(microseconds=1)) == 0, "not due yet"

    down_gateway.start()
    assert deliveries_send_due(now=row.next_attempt_at) == 1
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    assert row.attempts == 2
    assert row.gateway_reference == "sms-1"
    assert len(down_gateway.requests) == 1
    assert len(down_gateway.accepted("/sms")) == 1

    later = row.next_attempt_at + timedelta(days=1)
    assert deliveries_send_due(now=later) == 0
    assert delivery_send(delivery_id=row.pk, now=later) is False, "a sent row is never sent again"
    assert len(down_gateway.requests) == 1


def test_a_5xx_is_retried_and_then_sent_once(gateway: FakeGateway, django_capture_on_commit_callbacks: Any) -> None:
    sms_only()
    gateway.answers.append((502, {"error": "upstream"}))
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.PENDING, 1, "gateway answered 502")
    assert deliveries_send_due(now=row.next_attempt_at) == 1
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    assert len(gateway.requests) == 2
    assert len(gateway.accepted()) == 1


def test_a_refusal_is_final_and_audited(gateway: FakeGateway, django_capture_on_commit_callbacks: Any) -> None:
    subscribe(channels=("wechat",))
    gateway.answers.append((200, {"errcode": 43101, "errmsg": "user refuse to accept the msg"}))
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.FAILED
    assert row.payload_sealed == "", "the openid is forgotten once nothing more will be sent"
    event = AuditEvent.objects.get(tag="notifications.delivery.failed")
    assert event.result == "error"
    assert "43101" in event.data["error"]
    assert deliveries_send_due(now=timezone.now() + timedelta(days=1)) == 0
    assert len(gateway.requests) == 1


def test_gives_up_after_the_last_attempt(
    down_gateway: FakeGateway, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ECANCEL_NOTIFY_MAX_ATTEMPTS = 3
    sms_only()
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
    row = Delivery.objects.get()
    for _ in range(2):
        assert deliveries_send_due(now=row.next_attempt_at) == 0
        row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 3)
    event = AuditEvent.objects.get(tag="notifications.delivery.failed")
    assert event.data["attempts"] == 3
    assert event.data["to"] == "139****5678"
    assert "13912345678" not in str(event.data)


def test_a_delivery_left_by_a_dead_process_is_taken_over_after_its_lease(
    sent: list[Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sms_only()
    with django_capture_on_commit_callbacks(execute=False):
        status_changed()  # the kick never runs: the process died before it
    row = Delivery.objects.get()
    now = row.next_attempt_at
    [claimed] = _claim_due(now, limit=10)  # a worker claims it, then dies before sending
    assert claimed.status == DeliveryStatus.SENDING
    assert deliveries_send_due(now=now) == 0, "someone holds it: nobody else sends it"
    assert delivery_send(delivery_id=row.pk, now=now) is False
    assert sent == []

    lease_over = now + timedelta(seconds=settings.ECANCEL_NOTIFY_LEASE)
    assert deliveries_send_due(now=lease_over) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert len(sent) == 1
    assert sent[0].delivery_id == str(row.pk), "the same idempotency key as the first try"


def test_a_broken_backend_setting_is_retried_not_lost(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.ECANCEL_SMS_BACKEND = "http"
    settings.ECANCEL_SMS_GATEWAY_URL = ""
    sms_only()
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.PENDING
    assert "ImproperlyConfigured" in row.last_error


def test_beat_runs_the_sweep(settings: Any, sent: list[Any], django_capture_on_commit_callbacks: Any) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["notifications-send-due"]["task"] == send_due.name
    sms_only()
    with django_capture_on_commit_callbacks(execute=False):
        status_changed()  # committed, but the queued task was lost
    assert send_due() == 1
    assert len(sent) == 1
    assert send_due() == 0
