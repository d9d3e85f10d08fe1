"""Five consecutive failures lock an account for 30 minutes; every step is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from ecancel.accounts.models import User
from ecancel.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD

WRONG = "definitely-not-it-99"


def _attempt(client: Client, user: User, password: str) -> tuple[int, str]:
    response = client.post("/login/", {"username": user.username, "password": password})
    return response.status_code, response.content.decode()


@pytest.fixture
def shift_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.timedelta], None]:
    """Move Django's clock forward; time.time() (the session clock) is left alone."""
    real_now = timezone.now

    def shift(delta: dt.timedelta) -> None:
        monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)

    return shift


def test_five_failures_lock_for_thirty_minutes(
    client: Client, operator: User, shift_clock: Callable[[dt.timedelta], None]
) -> None:
    for _ in range(4):
        _, html = _attempt(client, operator, WRONG)
        assert "用户名或密码不正确" in html
    operator.refresh_from_db()
    assert operator.failed_login_count == 4
    assert operator.locked_until is None

    _, html = _attempt(client, operator, WRONG)
    operator.refresh_from_db()
    assert operator.locked_until is not None
    remaining = operator.locked_until - timezone.now()
    assert dt.timedelta(minutes=29) < remaining <= dt.timedelta(minutes=30)
    unlock_at = timezone.localtime(operator.locked_until).strftime("%Y-%m-%d %H:%M")
    assert "账户已锁定" in html
    assert unlock_at in html

    # Even the right password is refused while locked, with the unlock time, and the lock does not grow.
    locked_until = operator.locked_until
    _, html = _attempt(client, operator, TEST_PASSWORD)
    assert "账户已锁定" in html and unlock_at in html
    operator.refresh_from_db()
    assert operator.locked_until == locked_until
    assert not client.session.get("_auth_user_id")

    tags = list(AuditEvent.objects.order_by("id").values_list("tag", "data__reason"))
    assert tags.count(("accounts.login.failed", "wrong_password")) == 5
    assert ("accounts.login.locked", None) in tags
    assert tags[-1] == ("accounts.login.failed", "locked")

    shift_clock(dt.timedelta(minutes=31))
    response = client.post("/login/", {"username": operator.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.failed_login_count == 0
    assert operator.locked_until is None


def test_after_a_lock_the_user_gets_fresh_attempts(
    client: Client, operator: User, shift_clock: Callable[[dt.timedelta], None]
) -> None:
    for _ in range(5):
        _attempt(client, operator, WRONG)
    shift_clock(dt.timedelta(minutes=31))
    for _ in range(4):
        _attempt(client, operator, WRONG)
    operator.refresh_from_db()
    assert not operator.is_locked()


def test_success_resets_the_count(client: Client, operator: User) -> None:
    for _ in range(3):
        _attempt(client, operator, WRONG)
    status, _ = _attempt(client, operator, TEST_PASSWORD)
    assert status == 302
    operator.refresh_from_db()
    assert operator.failed_login_count == 0
    other = Client()
    for _ in range(4):
        _attempt(other, operator, WRONG)
    operator.refresh_from_db()
    assert not operator.is_locked()


def test_wrong_totp_codes_lock_too(client: Client, operator: User, settings: Settings) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    response = client.post("/login/", {"username": operator.username, "password": TEST_PASSWORD})
    assert response["Location"] == "/login/verify/"
    for _ in range(4):
        _attempt(client, operator, WRONG)
    response = client.post("/login/verify/", {"token": "000000"})
    # The wrong code is the fifth consecutive failure: the account locks and the login starts over.
    operator.refresh_from_db()
    assert operator.is_locked()
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "账户已锁定" in client.get("/login/").content.decode()


def test_settings_drive_the_policy(client: Client, operator: User, settings: Settings) -> None:
    settings.ECANCEL_LOGIN_MAX_FAILURES = 2
    settings.ECANCEL_LOGIN_LOCK = dt.timedelta(minutes=5)
    _attempt(client, operator, WRONG)
    _attempt(client, operator, WRONG)
    operator.refresh_from_db()
    assert operator.locked_until is not None
    assert operator.locked_until - timezone.now() <= dt.timedelta(minutes=5)
