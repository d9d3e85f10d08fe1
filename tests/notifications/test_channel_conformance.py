"""Every notification channel through the ``Channel`` protocol, for SMS and WeChat: ``logging`` (the log),
``memory`` (``sent_messages``) and ``http`` (the gateway stand-in on 127.0.0.1). Each message sent reaches where its
backend delivers, once; a channel that answers without delivering fails the same tests."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from ecancel.notifications import channels
from ecancel.notifications.channels import Channel, OutgoingMessage, Receipt, channel_for
from tests.notifications.gateway_fake import FakeGateway
from tests.notifications.test_channels import message

Delivered = Callable[[], list[str]]


@pytest.fixture(params=["sms", "wechat"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["logging", "memory", "http"])
def delivered(request: pytest.FixtureRequest, kind: str, settings: Any, caplog: pytest.LogCaptureFixture) -> Delivered:
    """The configured backend of ``kind``, and the text of each message that reached its destination."""
    if request.param == "http":
        gateway: FakeGateway = request.getfixturevalue("gateway")
        if kind == "sms":
            return lambda: [r.body["text"] for r in gateway.accepted("/sms")]
        return lambda: [r.body["data"]["thing4"]["value"] for r in gateway.accepted("/wechat")]
    setattr(settings, f"ECANCEL_{kind.upper()}_BACKEND", request.param)
    if request.param == "memory":
        sent: list[OutgoingMessage] = request.getfixturevalue("sent")
        return lambda: [m.body for m in sent if m.kind == kind]
    caplog.set_level(logging.INFO, logger=channels.logger.name)
    return lambda: [r.getMessage() for r in caplog.records if r.name == channels.logger.name]


def assert_delivers(channel: Channel, kind: str, delivered: Delivered) -> None:
    """The contract: the channel sends messages of its kind; each one sent is delivered once and answered with a
    receipt."""
    assert channel.kind == kind
    first, second = message(kind), message(kind, body="已出证：请到公证处领取公证书。")
    receipts = [channel.send(first), channel.send(second)]
    assert all(isinstance(receipt, Receipt) and isinstance(receipt.reference, str) for receipt in receipts)
    arrived = delivered()
    assert len(arrived) == 2, f"sent 2 messages, {len(arrived)} arrived"
    for sent in (first, second):  # the start of the text: WeChat's fields hold 20 characters
        assert sum(sent.body[:10] in entry for entry in arrived) == 1, f"{sent.body[:10]!r} did not arrive once"


def test_each_message_sent_is_delivered_once(kind: str, delivered: Delivered) -> None:
    assert_delivers(channel_for(kind), kind, delivered)


class SilentChannel:
    """Answers a receipt and delivers nothing."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def send(self, message: OutgoingMessage) -> Receipt:
        return Receipt(reference="sent")


def test_the_contract_catches_a_channel_that_delivers_nothing(settings: Any, sent: list[OutgoingMessage]) -> None:
    settings.ECANCEL_SMS_BACKEND = f"{__name__}.SilentChannel"

    with pytest.raises(AssertionError, match="sent 2 messages, 0 arrived"):
        assert_delivers(channel_for("sms"), "sms", lambda: [m.body for m in sent])


def test_a_dotted_path_names_a_backend(settings: Any) -> None:
    settings.ECANCEL_SMS_BACKEND = "ecancel.notifications.channels.MemoryChannel"
    assert isinstance(channel_for("sms"), channels.MemoryChannel)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("smtp", "cannot import the backend 'smtp' (smtp doesn't look like a module path; short names: http, logging"),
        ("ecancel.notifications.channels.Nowhere", "cannot import the backend"),
        ("ecancel.notifications.channels.Receipt", "is not a Channel backend (missing send)"),
    ],
)
def test_a_wrong_setting_is_named(settings: Any, value: str, problem: str) -> None:
    settings.ECANCEL_WECHAT_BACKEND = value
    with pytest.raises(ImproperlyConfigured, match=f"^ECANCEL_WECHAT_BACKEND='{value}': ") as wrong:
        channel_for("wechat")
    assert problem in str(wrong.value)
