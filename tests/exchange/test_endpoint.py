"""The /exchange/ endpoint answers JSON a sender (and a person reading its log) can act on."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.exchange.models import InboxMessage
from tests.exchange.conftest import Effects, put, raise_domain_error, signed

pytestmark = pytest.mark.django_db


def post(raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    response = Client().post(
        reverse("exchange:receive"),
        data=raw,
        content_type="application/json",
        headers=headers,
    )
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_endpoint_is_at_exchange() -> None:
    assert reverse("exchange:receive") == "/exchange/"


def test_applied_then_duplicate(notary_office: Organisation, developer: Organisation, effects: Effects) -> None:
    row = put(notary_office, developer)
    status, answer = post(*signed(row))
    assert (status, answer["status"], answer["message_id"]) == (200, "applied", str(row.pk))
    status, answer = post(*signed(row))
    assert (status, answer["status"]) == (200, "duplicate")
    assert answer["message"] == "该消息已接收，不再重复处理"
    assert effects.count(row.pk) == 1


def test_refusals_answer_4xx_with_chinese_and_english(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    row = put(notary_office, developer)
    raw, headers = signed(row, timestamp=int(time.time()) - 3600)
    status, answer = post(raw, headers)
    assert (status, answer["code"]) == (401, "stale_timestamp")
    assert "时间戳" in str(answer["message"])
    assert "window" in str(answer["message_en"])

    raw, headers = signed(row)
    status, answer = post(raw.replace(b'"version":1', b'"version":2'), headers)
    assert (status, answer["code"]) == (401, "bad_signature")

    status, answer = post(b"{}", {})
    assert (status, answer["code"]) == (400, "missing_headers")
    assert not InboxMessage.objects.exists()
    assert effects.count() == 0


def test_rejected_by_the_handler_is_received(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    effects.register(fail=raise_domain_error)
    row = put(notary_office, developer)
    status, answer = post(*signed(row))
    assert (status, answer["status"], answer["message"]) == (200, "rejected", "案件状态已变化")


def test_unexpected_failure_answers_500_so_the_sender_retries(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    def crash() -> None:
        raise RuntimeError("database went away")

    effects.register(fail=crash)
    row = put(notary_office, developer)
    status, answer = post(*signed(row))
    assert (status, answer["code"]) == (500, "internal_error")
    assert "database went away" not in str(answer), "no internals in the answer"
    assert not InboxMessage.objects.exists()


def test_only_post(db: None) -> None:
    assert Client().get("/exchange/").status_code == 405


def garbage(n: int) -> tuple[bytes, dict[str, str]]:
    """Anonymous junk of a few kinds: no headers, forged headers over non-JSON, forged headers over JSON."""
    forged = {"webhook-id": f"id-{n}", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"}
    kinds: list[tuple[bytes, dict[str, str]]] = [
        (b"\x00garbage" * 10, {}),
        (b"<html>not json</html>", forged),
        (b'{"id": "x", "type": "case.refused"}', forged),
    ]
    return kinds[n % len(kinds)]


def test_a_garbage_flood_adds_only_a_handful_of_audit_rows_and_every_post_is_answered(
    notary_office: Organisation, developer: Organisation, effects: Effects, settings: Settings
) -> None:
    from ecancel.audit.models import AuditEvent

    client = Client(REMOTE_ADDR="203.0.113.50")
    statuses, retry_afters = [], []
    for n in range(300):
        raw, headers = garbage(n)
        response = client.post(reverse("exchange:receive"), data=raw, content_type="application/json", headers=headers)
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_afters.append(int(response["Retry-After"]))
            assert "被拒绝的消息过多" in response.json()["message"]
    assert all(400 <= status < 500 for status in statuses)
    assert statuses.count(429) == 300 - settings.ECANCEL_EXCHANGE_REFUSALS_MAX
    assert retry_afters and all(0 < seconds <= 60 for seconds in retry_afters)
    refused = AuditEvent.objects.filter(tag="exchange.message.refused")
    assert refused.count() == settings.ECANCEL_EXCHANGE_REFUSALS_AUDITED
    assert AuditEvent.objects.count() <= settings.ECANCEL_EXCHANGE_REFUSALS_AUDITED + 2
    # A real peer at another address is not held up by the flood.
    status, answer = post(*signed(put(notary_office, developer)))
    assert (status, answer["status"]) == (200, "applied")


@pytest.mark.parametrize(
    ("headers", "extra", "expected"),
    [
        ({}, {}, (400, "missing_headers")),
        ({"webhook-id": "x", "webhook-timestamp": "1"}, {}, (400, "missing_headers")),
        (
            {"webhook-id": "x" * 65, "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
            {},
            (400, "malformed_headers"),
        ),
        ({}, {"CONTENT_LENGTH": ""}, (411, "length_required")),
        ({}, {"CONTENT_LENGTH": "-5"}, (411, "length_required")),
        ({}, {"CONTENT_LENGTH": str(50 * 1024 * 1024)}, (413, "too_large")),
    ],
)
def test_length_and_headers_are_judged_before_the_body_is_parsed(
    monkeypatch: pytest.MonkeyPatch, headers: dict[str, str], extra: dict[str, str], expected: tuple[int, str]
) -> None:
    from ecancel.exchange import views

    def must_not_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the body was handed on for parsing")

    monkeypatch.setattr(views, "inbox_accept", must_not_parse)
    response = Client().post(
        reverse("exchange:receive"), data=b"{}", content_type="application/json", headers=headers, **extra
    )
    assert (response.status_code, response.json()["code"]) == expected
    assert response.json()["message"] and response.json()["message_en"]
