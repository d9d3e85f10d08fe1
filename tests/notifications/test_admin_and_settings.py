"""System admins read notifications in admin without contacts or codes; production refuses unsafe channel settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ecancel.accounts.models import Organisation, Role, User
from ecancel.notifications.channels import OutgoingMessage
from ecancel.notifications.models import Delivery, Notification, OneTimeCode, Subscription
from ecancel.notifications.services import one_time_code_send
from tests.accounts.test_production_settings import GOOD_KEY, _import_settings
from tests.conftest import logged_in_client
from tests.factories import UserFactory
from tests.notifications.helpers import CTX, OPENID, status_changed, subscribe


@pytest.fixture
def admin_client(filing_authority: Organisation) -> Client:
    user: User = UserFactory(
        organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True, username="ntadmin"
    )
    return logged_in_client(user)


@pytest.mark.django_db
def test_admin_pages_are_read_only_and_show_no_contacts(
    admin_client: Client, sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
        one_time_code_send(phone="13800001111", purpose="buyer_login", ctx=CTX, now=timezone.now())
    code = sent[-1].body.split("为 ")[1][:6]
    rows = [Subscription.objects.get(), Notification.objects.get(), Delivery.objects.first(), OneTimeCode.objects.get()]
    for row in rows:
        base = f"/admin/notifications/{row._meta.model_name}/"
        listing = admin_client.get(base)
        assert listing.status_code == 200
        page = admin_client.get(f"{base}{row.pk}/change/").content.decode()
        for secret in ("13912345678", "13800001111", OPENID, code):
            assert secret not in page
        assert admin_client.get(f"{base}add/").status_code == 403
    assert "139****5678" in admin_client.get(f"/admin/notifications/subscription/{rows[0].pk}/change/").content.decode()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"ECANCEL_SMS_BACKEND": "memory"}, "ECANCEL_SMS_BACKEND"),
        ({"ECANCEL_WECHAT_BACKEND": "http"}, "ECANCEL_WECHAT_GATEWAY_URL"),
        (
            {
                "ECANCEL_SMS_BACKEND": "http",
                "ECANCEL_SMS_GATEWAY_URL": "https://sms.example",
                "ECANCEL_SMS_GATEWAY_SECRET": "x",
            },
            "ECANCEL_SMS_GATEWAY_URL",
        ),
    ],
)
def test_production_refuses_unsafe_channel_settings(tmp_path: Path, env: dict[str, str], problem: str) -> None:
    result = _import_settings(tmp_path, ECANCEL_SECRET_KEY=GOOD_KEY, ECANCEL_ALLOWED_HOSTS="ecancel.example", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and problem in result.stderr
