"""The /exchange/ endpoint answers JSON a sender (and a person reading its log) can act on."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

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
