"""Staff login: password, then TOTP (or enrolment on first login); demo skip; no enumeration."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from ecancel.accounts.models import User
from ecancel.audit.models import AuditEvent
from tests.accounts.conftest import failures_counted, totp_code
from tests.factories import TEST_PASSWORD


def _password_step(client: Client, user: User, password: str = TEST_PASSWORD, next_url: str = "") -> str:
    url = "/login/" + (f"?next={next_url}" if next_url else "")
    response = client.post(url, {"username": user.username, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"])


def test_password_then_totp(client: Client, operator: User, no_demo: Settings) -> None:
    device = TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    before = client.get("/login/").cookies.get("sessionid")
    assert _password_step(client, operator, next_url="/operator/contracts/") == "/login/verify/"
    pending_key = client.cookies["sessionid"].value
    # Between the two steps the user is not logged in anywhere.
    assert client.get("/operator/contracts/")["Location"].startswith("/login/")
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/login/?next=")
    page = client.get("/login/verify/")
    assert "输入动态验证码" in page.content.decode()
    response = client.post("/login/verify/", {"token": totp_code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/operator/contracts/"
    assert client.cookies["sessionid"].value not in {pending_key, before.value if before else ""}
    assert client.get("/operator/contracts/").status_code == 200
    event = AuditEvent.objects.filter(tag="accounts.login.succeeded").get()
    assert event.actor_id == operator.pk
    assert event.data == {"second_factor": "totp"}


def test_wrong_code_is_refused_and_counted(client: Client, operator: User, no_demo: Settings) -> None:
    device = TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    _password_step(client, operator)
    good = totp_code(device)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post("/login/verify/", {"token": wrong})
    assert response.status_code == 200
    assert "动态验证码不正确" in response.content.decode()
    assert failures_counted(operator) == 1
    assert AuditEvent.objects.filter(tag="accounts.login.failed", data__reason="wrong_otp").count() == 1
    assert client.get("/operator/contracts/")["Location"].startswith("/login/")


def test_a_used_code_cannot_be_replayed(client: Client, operator: User, no_demo: Settings) -> None:
    device = TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    _password_step(client, operator)
    code = totp_code(device)
    assert client.post("/login/verify/", {"token": code}).status_code == 302
    other = Client()
    _password_step(other, operator)
    assert other.post("/login/verify/", {"token": code}).status_code == 200


def test_first_login_enrols_an_authenticator(client: Client, operator: User, no_demo: Settings) -> None:
    assert _password_step(client, operator) == "/login/enrol/"
    page = client.get("/login/enrol/")
    html = page.content.decode()
    assert "<svg" in html
    device = TOTPDevice.objects.get(user=operator)
    assert not device.confirmed
    # The same device survives a reload, so the QR the user scanned stays valid.
    client.get("/login/enrol/")
    assert TOTPDevice.objects.get(user=operator).pk == device.pk
    assert client.get("/operator/contracts/")["Location"].startswith("/login/")
    response = client.post("/login/enrol/", {"token": totp_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/operator/contracts/").status_code == 200
    assert AuditEvent.objects.filter(tag="accounts.totp.enrolled", actor=operator).exists()
    # The next login asks for the code instead of enrolling again.
    assert _password_step(Client(), operator) == "/login/verify/"


def test_enrolment_shows_the_secret_matching_the_qr(client: Client, operator: User, no_demo: Settings) -> None:
    from base64 import b32encode

    _password_step(client, operator)
    html = client.get("/login/enrol/").content.decode()
    device = TOTPDevice.objects.get(user=operator)
    secret = b32encode(device.bin_key).decode().rstrip("=")
    shown = html.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    assert shown == secret


def test_pending_login_expires(client: Client, operator: User, no_demo: Settings) -> None:
    TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    _password_step(client, operator)
    session = client.session
    session["ecancel_pending_login"]["at"] = time.time() - 301
    session.save()
    response = client.get("/login/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"


def test_demo_mode_skips_the_second_factor_behind_a_banner(client: Client, operator: User) -> None:
    assert _password_step(client, operator) == "/"
    page = client.get("/operator/contracts/")
    assert page.status_code == 200
    assert "演示环境" in page.content.decode()
    event = AuditEvent.objects.get(tag="accounts.login.succeeded")
    assert event.data == {"second_factor": "demo_skip"}


def test_demo_skip_is_void_once_demo_mode_is_off(client: Client, operator: User, settings: Settings) -> None:
    _password_step(client, operator)
    settings.ECANCEL_DEMO = False
    assert client.get("/operator/contracts/")["Location"].startswith("/login/")


def test_demo_mode_still_asks_users_who_have_an_authenticator(client: Client, operator: User) -> None:
    TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    assert _password_step(client, operator) == "/login/verify/"


def test_no_banner_outside_demo_mode(client: Client, no_demo: Settings) -> None:
    assert "演示环境" not in client.get("/login/").content.decode()


def test_banner_in_demo_mode_on_every_page(client: Client) -> None:
    assert "演示环境" in client.get("/login/").content.decode()
    assert "演示环境" in client.get("/no-such-page/").content.decode()


def test_unknown_user_gets_the_same_message_and_is_audited(client: Client, operator: User) -> None:
    wrong_password = client.post("/login/", {"username": operator.username, "password": "not-the-password-1"})
    unknown_user = client.post("/login/", {"username": "nobody-here", "password": "not-the-password-1"})
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert "用户名或密码不正确" in wrong_password.content.decode()
    assert "用户名或密码不正确" in unknown_user.content.decode()
    reasons = sorted(e.data["reason"] for e in AuditEvent.objects.filter(tag="accounts.login.failed"))
    assert reasons == ["unknown_user", "wrong_password"]
    unknown = AuditEvent.objects.get(data__reason="unknown_user")
    assert unknown.actor_id is None
    assert unknown.actor_label == "nobody-here"
    assert unknown.ip == "127.0.0.1"


def test_inactive_user_cannot_log_in(client: Client, operator: User) -> None:
    operator.is_active = False
    operator.save(update_fields=["is_active"])
    response = client.post("/login/", {"username": operator.username, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


def test_next_must_stay_on_this_site(client: Client, operator: User) -> None:
    assert _password_step(client, operator, next_url="https://evil.example/") == "/"


def test_logout_kills_the_session_server_side(operator_client: Client, operator: User) -> None:
    key = operator_client.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key).exists()
    assert operator_client.get("/logout/").status_code == 405
    response = operator_client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.filter(tag="accounts.logout", actor=operator).exists()
    # Replaying the old cookie gets nowhere.
    replay = Client()
    replay.cookies["sessionid"] = key
    assert replay.get("/operator/contracts/")["Location"].startswith("/login/")


def test_password_alone_is_not_a_staff_session(client: Client, operator: User, no_demo: Settings) -> None:
    client.force_login(operator)
    assert client.get("/operator/contracts/")["Location"].startswith("/login/")
    assert client.get("/api/filing/contracts").status_code == 401


def test_admin_login_goes_through_staff_login(client: Client) -> None:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/"


def test_logged_in_user_on_login_page_goes_home(operator_client: Client) -> None:
    response = operator_client.get("/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("reason", ["idle", "max_age"])
def test_login_page_explains_expiry(client: Client, reason: str) -> None:
    html = client.get(f"/login/?expired={reason}").content.decode()
    assert "请重新登录" in html


def test_quick_retries_are_throttled_not_counted(client: Client, operator: User, no_demo: Settings) -> None:
    device = TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    _password_step(client, operator)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    client.post("/login/verify/", {"token": wrong})
    response = client.post("/login/verify/", {"token": wrong})
    assert "输入过于频繁" in response.content.decode()
    assert failures_counted(operator) == 1


def test_lock_during_the_second_step_is_explained(client: Client, operator: User, no_demo: Settings) -> None:
    TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    _password_step(client, operator)
    for _ in range(5):
        Client().post("/login/", {"username": operator.username, "password": "wrong-password-here"})
    response = client.get("/login/verify/")
    assert response.status_code == 429
    assert "连续登录失败次数过多" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert client.get("/login/verify/")["Location"] == "/login/"
