"""The client's address: X-Forwarded-For counts only when the direct peer is a listed proxy."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from pytest_django import Settings

from ecancel.audit.models import AuditEvent
from ecancel.core.context import client_ip

PROXY = "192.0.2.10"


def ip_of(remote_addr: str, forwarded_for: str | None = None) -> str | None:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **extra))


def test_without_listed_proxies_the_header_is_ignored(settings: Settings) -> None:
    settings.ECANCEL_TRUSTED_PROXIES = []
    assert ip_of("203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_a_spoofed_header_from_a_peer_that_is_not_a_proxy_is_ignored(settings: Settings) -> None:
    settings.ECANCEL_TRUSTED_PROXIES = [PROXY]
    assert ip_of("203.0.113.7", "198.51.100.1") == "203.0.113.7"


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        ([PROXY], "198.51.100.1", "198.51.100.1"),
        # A client's own X-Forwarded-For arrives in front of what our proxy appended: only the last hop counts.
        ([PROXY], "10.9.9.9, 198.51.100.1", "198.51.100.1"),
        (["192.0.2.0/24"], "198.51.100.1, 192.0.2.11", "198.51.100.1"),
        ([PROXY], "2001:DB8::1", "2001:db8::1"),
        ([PROXY], "not-an-address", PROXY),
        ([PROXY], "", PROXY),
    ],
)
def test_behind_a_listed_proxy_the_nearest_hop_that_is_not_one_counts(
    settings: Settings, proxies: list[str], forwarded_for: str, expected: str
) -> None:
    settings.ECANCEL_TRUSTED_PROXIES = proxies
    assert ip_of(PROXY, forwarded_for) == expected


@pytest.mark.django_db
def test_buyers_behind_a_proxy_are_limited_each_on_their_own(settings: Settings) -> None:
    settings.ECANCEL_TRUSTED_PROXIES = [PROXY]
    settings.ECANCEL_HANDOFF_MAX_MISSES = 2
    client = Client(REMOTE_ADDR=PROXY)
    for n in range(3):
        client.get(f"/h/guess{n}", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client.get("/h/guess", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert client.get("/h/guess", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 404
    assert AuditEvent.objects.get(tag="buyers.handoff.lookup_throttled").ip == "198.51.100.1"


@pytest.mark.django_db
def test_a_client_cannot_dodge_its_limit_by_forging_the_header(settings: Settings) -> None:
    settings.ECANCEL_TRUSTED_PROXIES = [PROXY]
    settings.ECANCEL_HANDOFF_MAX_MISSES = 2
    client = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(3):
        client.get(f"/h/guess{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert client.get("/h/guess", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429
