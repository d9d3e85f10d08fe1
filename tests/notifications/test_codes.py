"""One-time codes for 我的: six digits by SMS after commit, kept hashed, five minutes, once, five wrong tries,
sending limited per number and per address."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, ValidationFailed
from ecancel.core.ratelimit import RateLimited
from ecancel.notifications.channels import OutgoingMessage
from ecancel.notifications.models import Delivery, OneTimeCode
from ecancel.notifications.services import (
    OneTimeCodeRefused,
    TooManyCodes,
    deliveries_send_due,
    one_time_code_send,
    one_time_code_verify,
)
from ecancel.notifications.transitions import DeliveryStatus
from tests.notifications.helpers import CTX

pytestmark = pytest.mark.django_db
PHONE = "13912345678"
LOGIN = "buyer_login"


def send(now: datetime, *, phone: str = PHONE, ctx: RequestContext = CTX, callbacks: Any) -> None:
    with callbacks(execute=True):
        one_time_code_send(phone=phone, purpose=LOGIN, ctx=ctx, now=now)


def last_code(sent: list[OutgoingMessage]) -> str:
    match = re.search(r"\b(\d{6})\b", sent[-1].body)
    assert match is not None
    return match.group(1)


def verify(code: str, now: datetime, phone: str = PHONE) -> Any:
    return one_time_code_verify(phone=phone, purpose=LOGIN, code=code, now=now, ctx=CTX)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_is_sent_by_sms_after_commit_and_opens_once(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        issued = one_time_code_send(phone="+86 139 1234 5678", purpose=LOGIN, ctx=CTX, now=now)
        assert sent == []
    assert issued.expires_at == now + timedelta(minutes=5)
    assert [(m.kind, m.address, m.event) for m in sent] == [("sms", "+8613912345678", "one_time_code")]
    assert "5 分钟内有效" in sent[0].body
    code = last_code(sent)

    verified = verify(code, now + timedelta(minutes=4))
    assert verified.phone == "+8613912345678"
    with pytest.raises(OneTimeCodeRefused) as again:
        verify(code, now + timedelta(minutes=4))
    assert again.value.code == "code_expired", "used once"
    assert AuditEvent.objects.filter(tag="notifications.one_time_code.verified").count() == 1


def test_the_code_is_stored_only_as_a_keyed_digest(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    send(timezone.now(), callbacks=django_capture_on_commit_callbacks)
    code = last_code(sent)
    stored = " ".join(str(v) for row in OneTimeCode.objects.values() for v in row.values())
    stored += " ".join(str(v) for row in Delivery.objects.values() for v in row.values())
    stored += " ".join(str(e.data) for e in AuditEvent.objects.all())
    assert code not in stored
    assert PHONE not in stored
    assert Delivery.objects.get().status == DeliveryStatus.SENT


def test_a_code_expires_after_five_minutes(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    send(now, callbacks=django_capture_on_commit_callbacks)
    with pytest.raises(OneTimeCodeRefused) as refused:
        verify(last_code(sent), now + timedelta(minutes=5))
    assert refused.value.code == "code_expired"
    assert refused.value.zh.startswith("验证码已过期") and refused.value.en.startswith("The code has expired")


def test_five_wrong_tries_close_the_code(sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any) -> None:
    now = timezone.now()
    send(now, callbacks=django_capture_on_commit_callbacks)
    code = last_code(sent)
    for left in (4, 3, 2, 1):
        with pytest.raises(OneTimeCodeRefused) as refused:
            verify(wrong(code), now)
        assert refused.value.code == "wrong_code"
        assert f"{left}" in refused.value.zh and "code" in refused.value.fields
    with pytest.raises(OneTimeCodeRefused) as locked:
        verify(wrong(code), now)
    assert locked.value.code == "too_many_tries"
    with pytest.raises(OneTimeCodeRefused):
        verify(code, now)
    assert OneTimeCode.objects.get().closed_reason == "too_many_tries"


def test_a_new_code_replaces_the_previous_one(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    send(now, callbacks=django_capture_on_commit_callbacks)
    first = last_code(sent)
    later = now + timedelta(seconds=61)
    send(later, callbacks=django_capture_on_commit_callbacks)
    second = last_code(sent)
    if first != second:
        with pytest.raises(OneTimeCodeRefused):
            verify(first, later)
    assert verify(second, later).phone == "+8613912345678"


def test_sending_is_limited_per_number(
    sent: list[OutgoingMessage], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    send(now, callbacks=django_capture_on_commit_callbacks)
    with pytest.raises(TooManyCodes) as soon:
        send(now + timedelta(seconds=30), callbacks=django_capture_on_commit_callbacks)
    assert soon.value.http_status == 429 and soon.value.retry_after == 30
    assert isinstance(soon.value, RateLimited)
    for minute in range(1, settings.ECANCEL_OTP_SENDS_PER_PHONE):
        send(now + timedelta(minutes=minute), callbacks=django_capture_on_commit_callbacks)
    with pytest.raises(TooManyCodes):
        send(now + timedelta(minutes=10), callbacks=django_capture_on_commit_callbacks)
    assert len(sent) == settings.ECANCEL_OTP_SENDS_PER_PHONE
    send(now + timedelta(minutes=61), callbacks=django_capture_on_commit_callbacks)
    throttled = AuditEvent.objects.filter(tag="notifications.one_time_code.throttled")
    assert throttled.count() == 2
    assert {e.data["phone"] for e in throttled} == {"139****5678"}


def test_sending_is_limited_per_address(
    sent: list[OutgoingMessage], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ECANCEL_OTP_SENDS_PER_ADDRESS = 3
    now = timezone.now()
    for number in range(3):
        send(now, phone=f"1391234000{number}", callbacks=django_capture_on_commit_callbacks)
    with pytest.raises(TooManyCodes):
        send(now, phone="13912340009", callbacks=django_capture_on_commit_callbacks)
    other = RequestContext(ip="203.0.113.9")
    send(now, phone="13912340009", ctx=other, callbacks=django_capture_on_commit_callbacks)
    assert len(sent) == 4


@pytest.mark.parametrize(
    ("phone", "purpose", "field"),
    [("12345", LOGIN, "phone"), ("0086 139", LOGIN, "phone"), (PHONE, "anything", "purpose")],
)
def test_bad_input_sends_nothing(phone: str, purpose: str, field: str, sent: list[OutgoingMessage]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        one_time_code_send(phone=phone, purpose=purpose, ctx=CTX, now=timezone.now())
    assert field in refused.value.fields
    assert OneTimeCode.objects.count() == 0 and sent == []


def test_a_malformed_code_is_not_a_try(sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any) -> None:
    now = timezone.now()
    send(now, callbacks=django_capture_on_commit_callbacks)
    for _ in range(6):
        with pytest.raises(DomainError) as refused:
            verify("12ab", now)
        assert "code" in refused.value.fields
    assert OneTimeCode.objects.get().failed_attempts == 0
    assert verify(last_code(sent), now)


def test_an_sms_that_cannot_go_out_before_the_code_expires_is_given_up(
    down_gateway: Any, django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    send(now, callbacks=django_capture_on_commit_callbacks)
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.PENDING and row.expires_at == now + timedelta(minutes=5)
    down_gateway.start()
    assert deliveries_send_due(now=now + timedelta(minutes=5)) == 0
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED
    assert down_gateway.requests == []
