"""Staff sessions end after 15 minutes idle or 12 hours after login."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from pytest_django import Settings

from ecancel.accounts.models import User
from ecancel.accounts.signals import LAST_SEEN_KEY, LOGIN_AT_KEY
from ecancel.audit.models import AuditEvent
from tests.conftest import logged_in_client


def _age_session(client: Client, *, login_ago: float, seen_ago: float) -> None:
    session = client.session
    now = time.time()
    session[LOGIN_AT_KEY] = now - login_ago
    session[LAST_SEEN_KEY] = now - seen_ago
    session.save()


def test_active_session_passes(operator_client: Client) -> None:
    _age_session(operator_client, login_ago=11 * 3600, seen_ago=14 * 60)
    assert operator_client.get("/operator/contracts/").status_code == 200


@pytest.mark.parametrize(
    ("login_ago", "seen_ago", "reason"),
    [(20 * 60, 16 * 60, "idle"), (12 * 3600 + 60, 30, "max_age")],
)
def test_expired_session_is_ended(
    operator_client: Client, operator: User, login_ago: float, seen_ago: float, reason: str
) -> None:
    key = operator_client.cookies["sessionid"].value
    _age_session(operator_client, login_ago=login_ago, seen_ago=seen_ago)
    response = operator_client.get("/operator/contracts/?q=x")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?")
    assert f"expired={reason}" in response["Location"]
    assert "next=%2Foperator%2Fcontracts%2F%3Fq%3Dx" in response["Location"]
    assert not Session.objects.filter(session_key=key).exists()
    event = AuditEvent.objects.get(tag="accounts.session.expired")
    assert event.actor_id == operator.pk
    assert event.data == {"reason": reason}
    # It stays ended: no page, no API.
    assert operator_client.get("/operator/contracts/")["Location"].startswith("/login/")
    assert operator_client.get("/api/filing/contracts").status_code == 401
    page = operator_client.get(response["Location"])
    assert "请重新登录" in page.content.decode()


def test_expired_session_on_the_api_gets_401(operator_client: Client) -> None:
    _age_session(operator_client, login_ago=60, seen_ago=16 * 60)
    response = operator_client.get("/api/filing/contracts")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_activity_moves_the_idle_clock(operator_client: Client) -> None:
    _age_session(operator_client, login_ago=20 * 60, seen_ago=10 * 60)
    before = time.time()
    assert operator_client.get("/operator/contracts/").status_code == 200
    assert before <= operator_client.session[LAST_SEEN_KEY] <= time.time()
    # Ten more minutes later it is 10, not 20, minutes idle.
    session = operator_client.session
    session[LAST_SEEN_KEY] -= 10 * 60
    session.save()
    assert operator_client.get("/operator/contracts/").status_code == 200


def test_limits_come_from_settings(operator: User, settings: Settings) -> None:
    import datetime as dt

    settings.ECANCEL_STAFF_IDLE = dt.timedelta(minutes=2)
    client = logged_in_client(operator)
    _age_session(client, login_ago=200, seen_ago=150)
    assert client.get("/operator/contracts/")["Location"].startswith("/login/")


def test_session_without_a_clock_is_void(operator_client: Client) -> None:
    session = operator_client.session
    del session[LOGIN_AT_KEY]
    session.save()
    assert operator_client.get("/operator/contracts/")["Location"].startswith("/login/")
