"""Failed logins lock one user name at one address, and throttle an address whatever names it tries.

A stranger elsewhere cannot lock the real user out, and unknown user names get exactly the answers real
ones get. Every step is audited; the limiter's clock is moved instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.test.client import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from ecancel.accounts.models import User
from ecancel.accounts.services import AccountLocked, login_password_check
from ecancel.audit.models import AuditEvent
from ecancel.core import ratelimit
from ecancel.core.context import RequestContext
from tests.accounts.conftest import failures_counted
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db
WRONG = "definitely-not-it-99"
HOME = "127.0.0.1"
STRANGER = "198.51.100.66"


def attempt(username: str, password: str = WRONG, ip: str = HOME) -> tuple[int, str, str]:
    """One login post: status, page text, Retry-After."""
    response = Client(REMOTE_ADDR=ip).post("/login/", {"username": username, "password": password})
    return response.status_code, response.content.decode(), response.get("Retry-After", "")


@pytest.fixture
def move_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the rate limiter's clock forward by some seconds; nothing else's."""
    real = ratelimit.clock

    def move(seconds: float) -> None:
        monkeypatch.setattr(ratelimit, "clock", lambda: real() + seconds)

    return move


def test_five_failures_lock_the_name_at_that_address_for_thirty_minutes(operator: User) -> None:
    for _ in range(4):
        status, html, _ = attempt(operator.username)
        assert status == 200 and "用户名或密码不正确" in html
    assert failures_counted(operator) == 4

    status, html, retry_after = attempt(operator.username)
    assert status == 429
    assert "连续登录失败次数过多" in html and "Too many failed logins" not in html
    assert "请 30 分钟后再试；如需提前解除，请联系本单位管理员" in html
    assert "try again in" not in html
    assert 1790 <= int(retry_after) <= 1800

    # Even the right password is refused while locked, and the lock does not grow.
    status, html, later_retry_after = attempt(operator.username, TEST_PASSWORD)
    assert status == 429 and "连续登录失败次数过多" in html
    assert int(later_retry_after) <= int(retry_after)

    tags = list(AuditEvent.objects.order_by("id").values_list("tag", "data__reason"))
    assert tags.count(("accounts.login.failed", "wrong_password")) == 5
    assert ("accounts.login.locked", None) in tags
    assert tags[-1] == ("accounts.login.failed", "locked")
    locked = AuditEvent.objects.get(tag="accounts.login.locked")
    assert (locked.actor_id, locked.ip) == (operator.pk, HOME)


def test_the_lock_runs_out(operator: User, move_clock: Callable[[float], None]) -> None:
    for _ in range(5):
        attempt(operator.username)
    assert attempt(operator.username, TEST_PASSWORD)[0] == 429
    move_clock(31 * 60)
    assert attempt(operator.username, TEST_PASSWORD)[0] == 302


def test_a_stranger_elsewhere_cannot_lock_the_real_user_out(operator: User) -> None:
    for _ in range(10):
        attempt(operator.username, ip=STRANGER)
    assert attempt(operator.username, TEST_PASSWORD, ip=STRANGER)[0] == 429
    assert attempt(operator.username, TEST_PASSWORD, ip=HOME)[0] == 302


def test_unknown_and_real_user_names_get_the_same_answers(operator: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_700_000_000.0)
    real = [attempt(operator.username, ip="198.51.100.1") for _ in range(6)]
    unknown = [attempt("nobody-here", ip="198.51.100.2") for _ in range(6)]
    assert [(status, retry) for status, _, retry in real] == [(status, retry) for status, _, retry in unknown]
    assert [status for status, _, _ in real] == [200, 200, 200, 200, 429, 429]
    for (_, real_html, _), (_, unknown_html, _) in zip(real, unknown, strict=True):
        assert ("连续登录失败次数过多" in real_html) == ("连续登录失败次数过多" in unknown_html)
        assert ("用户名或密码不正确" in real_html) == ("用户名或密码不正确" in unknown_html)
    assert AuditEvent.objects.filter(tag="accounts.login.locked", actor_label="nobody-here").count() == 1


def test_an_address_is_throttled_whatever_names_it_tries(operator: User, settings: Settings) -> None:
    settings.ECANCEL_LOGIN_ADDRESS_MAX_FAILURES = 6
    for n in range(6):
        assert attempt(f"guess-{n}", ip=STRANGER)[0] == 200
    status, html, retry_after = attempt(operator.username, TEST_PASSWORD, ip=STRANGER)
    assert status == 429
    assert "此网络地址登录失败次数过多" in html and "Too many failed logins" not in html
    assert 0 < int(retry_after) <= 15 * 60
    assert attempt(operator.username, TEST_PASSWORD, ip=HOME)[0] == 302
    assert AuditEvent.objects.filter(tag="accounts.login.throttled", ip=STRANGER).count() == 1
    # Further tries from a throttled address are refused without writing to the audit log.
    before = AuditEvent.objects.count()
    for _ in range(20):
        attempt("guess-more", ip=STRANGER)
    assert AuditEvent.objects.count() == before


def test_success_resets_the_count(operator: User) -> None:
    for _ in range(3):
        attempt(operator.username)
    assert attempt(operator.username, TEST_PASSWORD)[0] == 302
    assert failures_counted(operator) == 0
    for _ in range(4):
        attempt(operator.username)
    assert attempt(operator.username, TEST_PASSWORD)[0] == 302


def test_wrong_totp_codes_count_toward_the_lock(client: Client, operator: User, settings: Settings) -> None:
    settings.ECANCEL_DEMO = False
    TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    response = client.post("/login/", {"username": operator.username, "password": TEST_PASSWORD})
    assert response["Location"] == "/login/verify/"
    for _ in range(4):
        attempt(operator.username)
    # The wrong code is the fifth failure of this name here: the login starts over on a 429 page.
    response = client.post("/login/verify/", {"token": "000000"})
    assert response.status_code == 429
    assert "连续登录失败次数过多" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert client.get("/login/verify/")["Location"] == "/login/"


def test_settings_drive_the_policy(operator: User, settings: Settings) -> None:
    settings.ECANCEL_LOGIN_MAX_FAILURES = 2
    settings.ECANCEL_LOGIN_LOCK = ratelimit.timedelta(minutes=5)
    attempt(operator.username)
    status, _, retry_after = attempt(operator.username)
    assert status == 429 and int(retry_after) <= 300


def test_the_service_refuses_with_the_limiters_verdict(operator: User) -> None:
    request = RequestFactory().post("/login/")
    ctx = RequestContext(ip="198.51.100.9")
    for _ in range(4):
        with pytest.raises(Exception, match="用户名或密码不正确"):
            login_password_check(request=request, username=operator.username, password=WRONG, ctx=ctx)
    with pytest.raises(AccountLocked) as locked:
        login_password_check(request=request, username=operator.username, password=WRONG, ctx=ctx)
    assert locked.value.http_status == 429 and locked.value.retry_after > 0
