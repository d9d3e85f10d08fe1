"""Transports carry a signed envelope to the recipient's inbox and say whether to try again.

``in_process`` hands the bytes to this deployment's own ``inbox_accept`` (still signed, still
stored in the inbox); ``http`` POSTs them to the peer's ``/exchange/`` endpoint.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import httpx
from django.conf import settings

from ecancel.core.context import RequestContext
from ecancel.exchange.errors import DuplicateMessage, ExchangeRefused
from ecancel.exchange.models import Transport as TransportName
from ecancel.exchange.routing import Route

# Answers worth retrying: the receiver is busy, overloaded or in a conflict that may clear.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class DeliveryReceipt:
    """The receiver took the message: ``applied``, ``rejected`` (by its handler) or ``duplicate``."""

    status: str
    note: str = ""


class DeliveryError(Exception):
    pass


class RetryableDeliveryError(DeliveryError):
    """Try again later: the peer is down, slow, or failed on its side."""


class PermanentDeliveryError(DeliveryError):
    """The peer refused the message itself; sending it again would be refused again."""


class Transport(Protocol):
    def deliver(self, *, route: Route, message_id: UUID, raw: bytes, headers: Mapping[str, str]) -> DeliveryReceipt:
        """Deliver one signed envelope; raise a DeliveryError subclass when it was not taken."""
        ...


class InProcessTransport:
    def deliver(self, *, route: Route, message_id: UUID, raw: bytes, headers: Mapping[str, str]) -> DeliveryReceipt:
        from ecancel.exchange.services import inbox_accept

        try:
            row = inbox_accept(raw, headers, ctx=RequestContext.system("exchange.in_process"))
        except DuplicateMessage as duplicate:
            return DeliveryReceipt("duplicate", duplicate.en)
        except ExchangeRefused as refusal:
            error = f"{refusal.code}: {refusal.en}"
            if refusal.http_status in RETRYABLE_STATUSES:
                raise RetryableDeliveryError(error) from refusal
            raise PermanentDeliveryError(error) from refusal
        except Exception as exc:
            raise RetryableDeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
        return DeliveryReceipt(row.status, row.reason_en)


class HttpTransport:
    """One pooled client per process; timeouts from ``ECANCEL_EXCHANGE_HTTP_TIMEOUT``."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                timeout = float(settings.ECANCEL_EXCHANGE_HTTP_TIMEOUT)
                self._client = httpx.Client(
                    timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
                    follow_redirects=False,
                    headers={"user-agent": "ecancel-exchange/1"},
                )
            return self._client

    def close(self) -> None:
        """Drop pooled connections (kept alive between messages otherwise)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def deliver(self, *, route: Route, message_id: UUID, raw: bytes, headers: Mapping[str, str]) -> DeliveryReceipt:
        if not route.endpoint_url:
            raise PermanentDeliveryError("peer has no endpoint URL")
        try:
            response = self.client().post(
                route.endpoint_url, content=raw, headers={**headers, "content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise RetryableDeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
        answer = _answer(response)
        if response.status_code == 200:
            return DeliveryReceipt(str(answer.get("status", "applied")), str(answer.get("message_en", "")))
        error = f"HTTP {response.status_code} {answer.get('code', '')}: {answer.get('message_en', '')}".strip()
        if response.status_code >= 500 or response.status_code in RETRYABLE_STATUSES:
            raise RetryableDeliveryError(error)
        raise PermanentDeliveryError(error)


def _answer(response: httpx.Response) -> dict[str, object]:
    try:
        data = json.loads(response.content)
    except ValueError:
        return {"message_en": response.text[:200]}
    return data if isinstance(data, dict) else {}


TRANSPORTS: dict[str, Transport] = {
    TransportName.IN_PROCESS: InProcessTransport(),
    TransportName.HTTP: HttpTransport(),
}


def transport_for(name: str) -> Transport:
    return TRANSPORTS[name]
