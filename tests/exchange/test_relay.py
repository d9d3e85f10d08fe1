"""Relaying: back-off kept in the row, giving up with an alert, order per application, no duplicate effects."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from uuid import UUID

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.exchange import handlers, transports
from ecancel.exchange.models import InboxMessage, OutboxMessage, Peer
from ecancel.exchange.routing import Route
from ecancel.exchange.services import outbox_put, outbox_requeue, peer_set, relay_due, retry_delay
from ecancel.exchange.tasks import relay_outbox
from ecancel.exchange.transitions import OutboxStatus
from ecancel.exchange.transports import DeliveryReceipt, HttpTransport, Transport
from tests.exchange.conftest import Effects, put, refused_body
from tests.messages import typed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_due(row: OutboxMessage) -> None:
    """Time passes: the row's next attempt (or its relay's lease) has come."""
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def http_peer(organisation: Organisation, url: str) -> None:
    peer_set(
        organisation=organisation,
        transport="http",
        endpoint_url=url,
        hmac_secret=b"s" * 40,
        actor=None,
        ctx=RequestContext.system("test"),
    )


@pytest.fixture
def down_peer(db: None, developer: Organisation, notary_office: Organisation) -> Iterator[str]:
    """The developer is reached over HTTP at an address where nothing listens (and the notary trusts the link)."""
    url = f"http://127.0.0.1:{free_port()}/exchange/"
    http_peer(developer, url)
    http_peer(notary_office, url)
    yield url


@pytest.mark.django_db
def test_back_off_is_kept_in_the_row(down_peer: str, notary_office: Organisation, developer: Organisation) -> None:
    row = put(notary_office, developer)
    before = timezone.now()
    assert relay_due() == 0
    after = timezone.now()
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "ConnectError" in row.last_error
    # The attempt failed at some moment between before and after; the delay drawn was 2.5 to 5 s.
    assert before + timedelta(seconds=2.5) <= row.next_attempt_at <= after + timedelta(seconds=5)

    assert relay_due(now=row.next_attempt_at - timedelta(microseconds=1)) == 0, "not due yet"
    row.refresh_from_db()
    assert row.attempts == 1

    make_due(row)
    before = timezone.now()
    relay_due()
    after = timezone.now()
    row.refresh_from_db()
    assert row.attempts == 2
    assert before + timedelta(seconds=5) <= row.next_attempt_at <= after + timedelta(seconds=10)


def test_retry_delay_grows_with_jitter_and_a_cap() -> None:
    for attempts, low, high in [(1, 2.5, 5), (2, 5, 10), (5, 40, 80), (30, 900, 1800)]:
        delays = {retry_delay(attempts).total_seconds() for _ in range(20)}
        assert all(low <= d <= high for d in delays), (attempts, delays)
        assert len(delays) > 1, "jittered"


@pytest.mark.django_db
def test_one_outage_is_not_retried_message_by_message(
    down_peer: str, notary_office: Organisation, developer: Organisation
) -> None:
    first, second = put(notary_office, developer), put(notary_office, developer)
    relay_due()
    first.refresh_from_db()
    second.refresh_from_db()
    assert "ConnectError" in first.last_error
    assert second.last_error.startswith("not tried: ")
    assert second.attempts == 1


@pytest.mark.django_db
@override_settings(ECANCEL_EXCHANGE_MAX_ATTEMPTS=3)
def test_gives_up_after_max_attempts_and_alerts(
    down_peer: str, notary_office: Organisation, developer: Organisation, caplog: pytest.LogCaptureFixture
) -> None:
    row = put(notary_office, developer)
    for _ in range(3):
        make_due(row)
        relay_due()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    alert = AuditEvent.objects.get(tag="exchange.message.failed")
    assert alert.result == "error"
    assert alert.object_id == str(row.pk)
    assert "given up" in caplog.text
    make_due(row)
    assert relay_due() == 0
    row.refresh_from_db()
    assert row.attempts == 3


@pytest.mark.django_db
@override_settings(ECANCEL_EXCHANGE_MAX_ATTEMPTS=2)
def test_a_secret_that_cannot_be_opened_counts_as_an_attempt_and_is_given_up(
    down_peer: str, notary_office: Organisation, developer: Organisation, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken key file must not make every relay round fail while the message waits unalerted."""
    row = put(notary_office, developer)
    Peer.objects.filter(organisation=developer).update(hmac_secret_sealed="v1:" + "A" * 64)
    assert relay_due() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "InvalidTag" in row.last_error
    assert "could not be routed or signed" in caplog.text
    make_due(row)
    relay_due()
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert AuditEvent.objects.filter(tag="exchange.message.failed", object_id=str(row.pk)).exists()


@pytest.mark.django_db
def test_gives_up_after_six_hours(down_peer: str, notary_office: Organisation, developer: Organisation) -> None:
    row = put(notary_office, developer)
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=6, seconds=1))
    relay_due()
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert AuditEvent.objects.filter(tag="exchange.message.failed", object_id=str(row.pk)).exists()


@pytest.mark.django_db
def test_refused_message_fails_at_once_and_can_be_requeued(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    effects.monkeypatch.delitem(handlers.HANDLERS, "case.refused")
    row = put(notary_office, developer)
    relay_due()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error.startswith("no_handler")

    effects.register()
    outbox_requeue(message_id=row.pk, actor=None, ctx=RequestContext.system("test"))
    assert relay_due() == 1
    assert effects.count(row.pk) == 1
    with pytest.raises(InvalidTransition):
        outbox_requeue(message_id=row.pk, actor=None, ctx=RequestContext.system("test"))


@pytest.mark.django_db
def test_one_application_is_delivered_in_order(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    ref = uuid.uuid4()
    first = put(notary_office, developer, body=refused_body(ref, reason="第一条"))
    second = put(notary_office, developer, body=refused_body(ref, reason="第二条"))
    other = put(notary_office, developer, body=refused_body(uuid.uuid4(), reason="别的申请"))
    OutboxMessage.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=1))

    assert relay_due() == 1, "only the other application's message: the second waits for the first"
    assert [m.id for m in effects.seen] == [other.pk]

    make_due(first)
    assert relay_outbox.apply().get() == 2
    assert [m.id for m in effects.seen] == [other.pk, first.pk, second.pk]


class Killed(BaseException):
    """Stands for the relay process dying (SIGKILL): nothing after this line runs."""


class DiesAfterSending:
    def __init__(self, real: Transport) -> None:
        self.real = real

    def deliver(self, *, route: Route, message_id: UUID, raw: bytes, headers: Mapping[str, str]) -> DeliveryReceipt:
        self.real.deliver(route=route, message_id=message_id, raw=raw, headers=headers)
        raise Killed


@pytest.mark.django_db
def test_relay_killed_between_sending_and_marking_sent_causes_no_duplicate_effect(
    notary_office: Organisation, developer: Organisation, effects: Effects, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = transports.TRANSPORTS["in_process"]
    monkeypatch.setitem(transports.TRANSPORTS, "in_process", DiesAfterSending(real))
    row = put(notary_office, developer)
    with pytest.raises(Killed):
        relay_due()
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING, "never marked sent"
    assert effects.count(row.pk) == 1

    monkeypatch.setitem(transports.TRANSPORTS, "in_process", real)
    assert relay_due() == 0, "leased: another relay does not pick it up at once"
    make_due(row)  # the lease runs out
    assert relay_due() == 1
    row.refresh_from_db()
    assert (row.status, row.remote_status, row.attempts) == (OutboxStatus.DELIVERED, "duplicate", 2)
    assert effects.count(row.pk) == 1
    assert InboxMessage.objects.filter(pk=row.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_commit_kicks_the_relay_and_rollback_sends_nothing(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    ref = uuid.uuid4()
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_put(sender=notary_office, recipient=developer, body=typed("case.refused", refused_body(ref)))
        raise RuntimeError("the state change failed")
    assert not OutboxMessage.objects.exists()

    with transaction.atomic():
        row = outbox_put(sender=notary_office, recipient=developer, body=typed("case.refused", refused_body(ref)))
        assert effects.count() == 0, "nothing leaves before commit"
    row.refresh_from_db()
    assert row.status == OutboxStatus.DELIVERED, "delivered on commit, without waiting for beat"
    assert effects.count(row.pk) == 1


@pytest.mark.django_db(transaction=True)
def test_peer_down_then_up_delivers_once_over_http(
    notary_office: Organisation, developer: Organisation, effects: Effects, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = HttpTransport()
    monkeypatch.setitem(transports.TRANSPORTS, "http", http)
    port = free_port()
    url = f"http://127.0.0.1:{port}/exchange/"
    http_peer(developer, url)
    http_peer(notary_office, url)

    with transaction.atomic():
        row = outbox_put(sender=notary_office, recipient=developer, body=typed("case.refused", refused_body()))
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING, "the on-commit kick found the peer down"
    assert row.attempts == 1
    assert "ConnectError" in row.last_error
    assert effects.count() == 0

    server = LiveServer(f"127.0.0.1:{port}")
    try:
        make_due(row)
        assert relay_due() == 1
        row.refresh_from_db()
        assert (row.status, row.remote_status, row.attempts) == (OutboxStatus.DELIVERED, "applied", 2)
        assert effects.count(row.pk) == 1

        make_due(row)
        assert relay_due() == 0, "delivered rows are not sent again"
    finally:
        http.close()  # ends the server's keep-alive request thread and its database connection
        server.stop()
    assert InboxMessage.objects.filter(pk=row.pk).count() == 1
