"""External channels (SMS, WeChat subscribe messages) behind one protocol, chosen by dotted-path settings.

``ECANCEL_SMS_BACKEND`` and ``ECANCEL_WECHAT_BACKEND`` hold a short name (``logging``, ``memory``, ``http``) or a
dotted path to a class taking ``kind``. ``logging`` (the default) writes the message to the log and sends nothing;
``memory`` keeps it in ``sent_messages`` for tests of other parts; ``http`` posts JSON to the configured gateway,
signed with HMAC-SHA256 over ``{timestamp}.{body}`` and carrying the delivery id as ``Idempotency-Key``.
A backend answers a ``Receipt``, or raises ``ChannelUnavailable`` (try again later) or ``ChannelRefused`` (never).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ecancel.core.backends import load
from ecancel.notifications.contacts import mask_address

logger = logging.getLogger(__name__)

KINDS = ("sms", "wechat")
HEADER_TIMESTAMP = "X-Ecancel-Timestamp"
HEADER_SIGNATURE = "X-Ecancel-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"
MIN_SECRET_BYTES = 32
# WeChat answers these when the fault is passing (busy, access token being refreshed, quota): try again.
WECHAT_RETRYABLE = {-1, 40001, 42001, 45009}
WECHAT_LANGUAGES = {"zh-hans": "zh_CN", "zh-hant": "zh_TW", "en": "en_US"}
WECHAT_THING_LENGTH = 20


class ChannelUnavailable(Exception):
    """The message did not go out for a passing reason (network, timeout, gateway error): try again later."""


class ChannelRefused(Exception):
    """The gateway refused the message for good (bad address, the user declined, configuration)."""


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: str  # also the idempotency key the gateway may use to drop a repeat
    kind: str
    address: str  # E.164 phone number or WeChat openid
    event: str
    title: str
    body: str
    topic: str
    language: str
    occurred_at: datetime


@dataclass(frozen=True)
class Receipt:
    reference: str = ""  # the gateway's message id, when it gives one


class Channel(Protocol):
    kind: str

    def send(self, message: OutgoingMessage) -> Receipt: ...


class LoggingChannel:
    """The default: the message goes to the log (the address masked), nothing leaves the machine."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def send(self, message: OutgoingMessage) -> Receipt:
        logger.info(
            "%s to %s (%s): %s %s",
            self.kind,
            mask_address(self.kind, message.address),
            message.event,
            message.title,
            message.body,
        )
        return Receipt()


sent_messages: list[OutgoingMessage] = []


class MemoryChannel:
    """For tests of other parts: messages are kept in ``sent_messages`` (clear it between tests)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def send(self, message: OutgoingMessage) -> Receipt:
        sent_messages.append(message)
        return Receipt(reference=f"memory-{len(sent_messages)}")


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


_pool: dict[str, httpx.Client] = {}
_pool_lock = threading.Lock()


def _client() -> httpx.Client:
    """One pooled client per process; redirects are not followed (a gateway never needs them)."""
    with _pool_lock:
        if "client" not in _pool:
            _pool["client"] = httpx.Client(follow_redirects=False, headers={"user-agent": "ecancel-notifications/1"})
        return _pool["client"]


class _HttpChannel:
    """POST canonical JSON to a gateway with a timestamped HMAC signature; the answer decides what happened."""

    kind = ""
    url_setting = ""
    secret_setting = ""

    def __init__(self, kind: str) -> None:
        if kind != self.kind:
            raise ImproperlyConfigured(f"{type(self).__name__} sends {self.kind} messages, not {kind}")
        self.url = getattr(settings, self.url_setting)
        self.secret = getattr(settings, self.secret_setting).encode()
        if not self.url or len(self.secret) < MIN_SECRET_BYTES:
            raise ImproperlyConfigured(
                f"须设置 {self.url_setting} 和至少 {MIN_SECRET_BYTES} 字节的 {self.secret_setting} / "
                f"{self.url_setting} and {self.secret_setting} (at least {MIN_SECRET_BYTES} bytes) must be set"
            )

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, message: OutgoingMessage) -> Receipt:
        body = json.dumps(self.payload(message), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            HEADER_TIMESTAMP: timestamp,
            HEADER_SIGNATURE: signature(self.secret, timestamp, body),
            HEADER_IDEMPOTENCY: message.delivery_id,
        }
        try:
            response = _client().post(
                self.url, content=body, headers=headers, timeout=settings.ECANCEL_NOTIFY_HTTP_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ChannelUnavailable(f"gateway answered {response.status_code}")
        if not response.is_success:  # a redirect is a wrong URL; the gateway's text may echo the address
            raise ChannelRefused(f"gateway answered {response.status_code}")
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        return self.receipt(answer if isinstance(answer, dict) else {})

    def receipt(self, answer: dict[str, Any]) -> Receipt:
        return Receipt(reference=str(answer.get("id", ""))[:100])


class HttpSmsChannel(_HttpChannel):
    """``{"to", "text", "event", "language", "reference"}`` to ``ECANCEL_SMS_GATEWAY_URL``; 2xx means accepted."""

    kind = "sms"
    url_setting = "ECANCEL_SMS_GATEWAY_URL"
    secret_setting = "ECANCEL_SMS_GATEWAY_SECRET"  # noqa: S105 - a setting's name

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        return {
            "to": message.address,
            "text": message.body,
            "event": message.event,
            "language": message.language,
            "reference": message.delivery_id,
        }


def _thing(value: str) -> str:
    """WeChat's ``thing`` fields hold at most 20 characters."""
    return value if len(value) <= WECHAT_THING_LENGTH else value[: WECHAT_THING_LENGTH - 1] + "…"


class HttpWechatChannel(_HttpChannel):
    """A subscribe message in WeChat's own shape (``touser``, ``template_id``, ``data``) to the gateway that holds
    the mini program's access token (``ECANCEL_WECHAT_GATEWAY_URL``); its ``errcode`` decides the outcome."""

    kind = "wechat"
    url_setting = "ECANCEL_WECHAT_GATEWAY_URL"
    secret_setting = "ECANCEL_WECHAT_GATEWAY_SECRET"  # noqa: S105 - a setting's name

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        if not settings.ECANCEL_WECHAT_TEMPLATE_ID:
            raise ImproperlyConfigured("须设置 ECANCEL_WECHAT_TEMPLATE_ID / ECANCEL_WECHAT_TEMPLATE_ID must be set")

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        fields = settings.ECANCEL_WECHAT_TEMPLATE_FIELDS
        values = {
            "title": _thing(message.title),
            "topic": message.topic[:32],
            "time": timezone.localtime(message.occurred_at).strftime("%Y-%m-%d %H:%M"),
            "body": _thing(message.body),
        }
        payload: dict[str, Any] = {
            "touser": message.address,
            "template_id": settings.ECANCEL_WECHAT_TEMPLATE_ID,
            "lang": WECHAT_LANGUAGES.get(message.language, "zh_CN"),
            "miniprogram_state": settings.ECANCEL_WECHAT_MINIPROGRAM_STATE,
            "data": {fields[name]: {"value": value} for name, value in values.items() if name in fields},
        }
        if settings.ECANCEL_WECHAT_PAGE:
            payload["page"] = settings.ECANCEL_WECHAT_PAGE
        return payload

    def receipt(self, answer: dict[str, Any]) -> Receipt:
        code = answer.get("errcode", 0)
        if code in WECHAT_RETRYABLE:
            raise ChannelUnavailable(f"WeChat errcode {code}: {answer.get('errmsg', '')}")
        if code != 0:
            raise ChannelRefused(f"WeChat errcode {code}: {answer.get('errmsg', '')}")
        return Receipt(reference=str(answer.get("msgid", ""))[:100])


HTTP_CHANNELS = {
    "sms": "ecancel.notifications.channels.HttpSmsChannel",
    "wechat": "ecancel.notifications.channels.HttpWechatChannel",
}


def short_names(kind: str) -> dict[str, str]:
    """What ``ECANCEL_SMS_BACKEND`` / ``ECANCEL_WECHAT_BACKEND`` may say instead of a dotted path."""
    return {
        "logging": "ecancel.notifications.channels.LoggingChannel",
        "memory": "ecancel.notifications.channels.MemoryChannel",
        "http": HTTP_CHANNELS[kind],
    }


def backend_setting(kind: str) -> str:
    return f"ECANCEL_{kind.upper()}_BACKEND"


def channel_for(kind: str) -> Channel:
    """The configured backend of ``kind`` (``sms`` or ``wechat``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown channel {kind!r}")
    channel: Channel = load(backend_setting(kind), Channel, kind=kind, short_names=short_names(kind))
    return channel
