"""Concurrent relays and concurrent deliveries on PostgreSQL: every message applied exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connection

from ecancel.accounts.models import Organisation
from ecancel.core.context import RequestContext
from ecancel.exchange.errors import DuplicateMessage
from ecancel.exchange.models import InboxMessage, OutboxMessage
from ecancel.exchange.services import inbox_accept, peer_set, relay_due
from ecancel.exchange.transitions import OutboxStatus
from tests.exchange.conftest import Effects, put, signed
from tests.exchange.test_relay import free_port, make_due

CTX = RequestContext.system("test")


def http_peer(organisation: Organisation, url: str, secret: bytes) -> None:
    peer_set(organisation=organisation, transport="http", endpoint_url=url, hmac_secret=secret, actor=None, ctx=CTX)


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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


@pytest.fixture(autouse=True)
def needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")


def test_concurrent_relays_claim_each_message_once(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    secret = b"p" * 40
    http_peer(developer, f"http://127.0.0.1:{free_port()}/exchange/", secret)
    http_peer(notary_office, f"http://127.0.0.1:{free_port()}/exchange/", secret)
    rows = [put(notary_office, developer) for _ in range(30)]
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}, "each kick found the peer down"

    peer_set(organisation=developer, transport="in_process", hmac_secret=secret, actor=None, ctx=CTX)
    for row in rows:
        make_due(row)
    results, errors = together(4, lambda: relay_due(limit=5))
    assert not errors
    while relay_due(limit=5):
        pass
    assert OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == 30
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {2}, "no message claimed twice"
    assert set(OutboxMessage.objects.values_list("remote_status", flat=True)) == {"applied"}
    assert effects.count() == 30
    assert sum(int(str(r)) for r in results) > 0, "the concurrent relays did the work"


def test_the_same_message_delivered_concurrently_applies_once(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    http_peer(developer, f"http://127.0.0.1:{free_port()}/exchange/", b"q" * 40)
    http_peer(notary_office, f"http://127.0.0.1:{free_port()}/exchange/", b"q" * 40)
    row = put(notary_office, developer)
    raw, headers = signed(row)

    def deliver() -> str:
        try:
            return str(inbox_accept(raw, headers).status)
        except DuplicateMessage:
            return "duplicate"

    results, errors = together(6, deliver)
    assert not errors
    assert sorted(map(str, results)) == ["applied"] + ["duplicate"] * 5
    assert effects.count(row.pk) == 1
    assert InboxMessage.objects.filter(pk=row.pk).count() == 1
