"""Fixtures of the notifications tests: channels kept in memory, or the fake HTTP gateway on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ecancel.notifications import channels
from ecancel.notifications.channels import OutgoingMessage
from tests.notifications.gateway_fake import SECRET, FakeGateway


@pytest.fixture
def sent(settings: Any) -> Iterator[list[OutgoingMessage]]:
    """Both channels in memory; the list of what they sent."""
    settings.ECANCEL_SMS_BACKEND = "memory"
    settings.ECANCEL_WECHAT_BACKEND = "memory"
    channels.sent_messages.clear()
    yield channels.sent_messages
    channels.sent_messages.clear()


def point_at(settings: Any, gateway: FakeGateway) -> None:
    settings.ECANCEL_SMS_BACKEND = "http"
    settings.ECANCEL_SMS_GATEWAY_URL = f"{gateway.url}/sms"
    settings.ECANCEL_SMS_GATEWAY_SECRET = SECRET
    settings.ECANCEL_WECHAT_BACKEND = "http"
    settings.ECANCEL_WECHAT_GATEWAY_URL = f"{gateway.url}/wechat"
    settings.ECANCEL_WECHAT_GATEWAY_SECRET = SECRET
    settings.ECANCEL_WECHAT_TEMPLATE_ID = "tmpl-status-change"
    settings.ECANCEL_NOTIFY_HTTP_TIMEOUT = 2.0


@pytest.fixture
def gateway(settings: Any) -> Iterator[FakeGateway]:
    """The fake gateway, running, with both HTTP backends pointed at it."""
    fake = FakeGateway().start()
    point_at(settings, fake)
    yield fake
    fake.stop()


@pytest.fixture
def down_gateway(settings: Any) -> Iterator[FakeGateway]:
    """The backends pointed at a port where nothing listens yet; ``start()`` brings the gateway up."""
    fake = FakeGateway()
    point_at(settings, fake)
    yield fake
    fake.stop()
