"""What each channel backend does beyond the protocol (test_channel_conformance): the log masks addresses, the
HTTP ones sign their requests, shape them for the gateway and read each answer."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from ecancel.notifications.channels import (
    ChannelRefused,
    ChannelUnavailable,
    HttpSmsChannel,
    HttpWechatChannel,
    OutgoingMessage,
    channel_for,
)
from tests.notifications.gateway_fake import FakeGateway


def message(kind: str, **changes: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "delivery_id": str(uuid.uuid4()),
        "kind": kind,
        "address": "+8613912345678" if kind == "sms" else "oAbCdEfGhIjKlMnOpQrStUv",
        "event": "case.under_review",
        "title": "公证审核中",
        "body": "案件 (2026)中证受字第0001号 的全部买受人已提交材料，公证处正在审核。",
        "topic": "(2026)中证受字第0001号",
        "language": "zh-hans",
        "occurred_at": datetime(2026, 12, 4, 15, 30, tzinfo=UTC),
    }
    values.update(changes)
    return OutgoingMessage(**values)


def test_logging_backend_masks_the_address(caplog: pytest.LogCaptureFixture, settings: Any) -> None:
    settings.ECANCEL_SMS_BACKEND = "logging"
    with caplog.at_level(logging.INFO, logger="ecancel.notifications.channels"):
        channel_for("sms").send(message("sms"))
    assert "139****5678" in caplog.text
    assert "13912345678" not in caplog.text


def test_sms_request_is_signed_and_carries_the_delivery_id(gateway: FakeGateway) -> None:
    outgoing = message("sms")
    receipt = channel_for("sms").send(outgoing)
    [request] = gateway.requests
    assert request.signed
    assert request.headers["idempotency-key"] == outgoing.delivery_id
    assert request.body == {
        "to": "+8613912345678",
        "text": outgoing.body,
        "event": "case.under_review",
        "language": "zh-hans",
        "reference": outgoing.delivery_id,
    }
    assert receipt.reference == "sms-1"


def test_wechat_request_has_the_subscribe_message_shape(gateway: FakeGateway, settings: Any) -> None:
    settings.ECANCEL_WECHAT_PAGE = "pages/mine/index"
    receipt = channel_for("wechat").send(message("wechat", language="en"))
    [request] = gateway.requests
    assert request.signed
    data = request.body["data"]
    assert request.body["touser"] == "oAbCdEfGhIjKlMnOpQrStUv"
    assert request.body["template_id"] == "tmpl-status-change"
    assert request.body["page"] == "pages/mine/index"
    assert request.body["lang"] == "en_US"
    assert data["thing1"] == {"value": "公证审核中"}
    assert data["character_string2"] == {"value": "(2026)中证受字第0001号"}
    assert data["time3"] == {"value": "2026-12-04 23:30"}  # Asia/Shanghai
    assert len(data["thing4"]["value"]) == 20 and data["thing4"]["value"].endswith("…")
    assert receipt.reference == "1"


def test_a_wrong_secret_is_refused_by_the_gateway(gateway: FakeGateway, settings: Any) -> None:
    settings.ECANCEL_SMS_GATEWAY_SECRET = "x" * 40
    with pytest.raises(ChannelRefused, match="401"):
        channel_for("sms").send(message("sms"))


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ((500, {}), ChannelUnavailable),
        ((503, {}), ChannelUnavailable),
        ((429, {}), ChannelUnavailable),
        ((400, {"error": "bad number +8613912345678"}), ChannelRefused),
        ((302, {}), ChannelRefused),
    ],
)
def test_sms_gateway_answers(
    answer: tuple[int, dict[str, Any]], outcome: type[Exception], gateway: FakeGateway
) -> None:
    gateway.answers.append(answer)
    with pytest.raises(outcome) as raised:
        channel_for("sms").send(message("sms"))
    assert "13912345678" not in str(raised.value), "the gateway's text is not copied into our errors"


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [(-1, ChannelUnavailable), (42001, ChannelUnavailable), (43101, ChannelRefused), (40003, ChannelRefused)],
)
def test_wechat_errcodes(errcode: int, outcome: type[Exception], gateway: FakeGateway) -> None:
    gateway.answers.append((200, {"errcode": errcode, "errmsg": "fake"}))
    with pytest.raises(outcome, match=str(errcode)):
        channel_for("wechat").send(message("wechat"))


def test_a_gateway_that_is_down_or_hangs_is_unavailable(down_gateway: FakeGateway, settings: Any) -> None:
    with pytest.raises(ChannelUnavailable, match="ConnectError"):
        channel_for("sms").send(message("sms"))
    down_gateway.start()
    down_gateway.answers.append("hang")
    settings.ECANCEL_NOTIFY_HTTP_TIMEOUT = 0.5
    with pytest.raises(ChannelUnavailable, match="Timeout"):
        channel_for("sms").send(message("sms"))


def test_http_backends_refuse_to_start_unconfigured(settings: Any) -> None:
    settings.ECANCEL_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    settings.ECANCEL_SMS_GATEWAY_SECRET = "short"
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        HttpSmsChannel("sms")
    settings.ECANCEL_WECHAT_GATEWAY_URL = "http://127.0.0.1:9/wechat"
    settings.ECANCEL_WECHAT_GATEWAY_SECRET = "s" * 40
    settings.ECANCEL_WECHAT_TEMPLATE_ID = ""
    with pytest.raises(ImproperlyConfigured, match="TEMPLATE_ID"):
        HttpWechatChannel("wechat")
    with pytest.raises(ImproperlyConfigured):
        HttpWechatChannel("sms")
