"""Concurrent senders and concurrent reports of the same change on PostgreSQL: every message exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from ecancel.notifications.channels import ChannelUnavailable, OutgoingMessage, Receipt
from ecancel.notifications.models import Delivery, Notification
from ecancel.notifications.services import deliveries_send_due, notify
from ecancel.notifications.transitions import DeliveryStatus
from tests.notifications.helpers import CASE, CTX, subscribe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")


def together(count: int, work: Callable[[], object]) -> tuple[list[object], list[BaseException]]:
    results: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def worker() -> None:
        try:
            start.wait()
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertions
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def report(recipient: str, key: str) -> Notification:
    with transaction.atomic():
        return notify(
            recipient=recipient,
            topic=CASE,
            event="case.under_review",
            params={"case_ref": CASE},
            dedupe_key=key,
            ctx=CTX,
        )


class DownChannel:
    """A channel whose gateway is always down: the first attempts fail and leave the rows to the sweeps."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def send(self, message: OutgoingMessage) -> Receipt:
        raise ChannelUnavailable("down")


def test_concurrent_sweeps_send_each_delivery_once(sent: list[OutgoingMessage], settings: Any) -> None:
    settings.ECANCEL_SMS_BACKEND = settings.ECANCEL_WECHAT_BACKEND = "tests.notifications.test_concurrency.DownChannel"
    for number in range(24):
        subscribe(f"party-{number}", channels=("sms", "wechat"))
        report(f"party-{number}", "case-1:under_review")
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 1)}
    settings.ECANCEL_SMS_BACKEND = settings.ECANCEL_WECHAT_BACKEND = "memory"
    now = timezone.now() + timedelta(hours=1)

    def sweep() -> int:
        total = 0
        while sent_now := deliveries_send_due(now=now, limit=5):
            total += sent_now
        return total

    results, errors = together(4, sweep)
    assert not errors
    assert sum(int(str(r)) for r in results) == 48
    assert len(sent) == 48
    assert len({m.delivery_id for m in sent}) == 48
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 2)}


def test_the_same_change_reported_concurrently_makes_one_message(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    subscribe("party-1", channels=("sms",))
    results, errors = together(4, lambda: report("party-1", "case-1:under_review").pk)
    assert not errors
    assert len(set(results)) == 1
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert len(sent) == 1
