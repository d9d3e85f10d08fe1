"""Helpers of the exchange tests: message bodies, a handler whose effect can be counted, signing."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction

from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import record_event
from ecancel.core.errors import DomainError
from ecancel.exchange import handlers
from ecancel.exchange.handlers import ReceivedMessage
from ecancel.exchange.models import OutboxMessage
from ecancel.exchange.routing import route_to
from ecancel.exchange.services import outbox_put
from tests.messages import typed

EFFECT = "test.exchange.effect"


def refused_body(application_ref: uuid.UUID | None = None, reason: str = "材料不全") -> dict[str, Any]:
    return {
        "application_ref": str(application_ref or uuid.uuid4()),
        "version": 1,
        "reason": reason,
        "refused_at": datetime.now(UTC).isoformat(),
        "refused_by": "王公证员",
    }


def certificate_body(pdf: bytes) -> dict[str, Any]:
    return {
        "application_ref": str(uuid.uuid4()),
        "version": 1,
        "case_ref": str(uuid.uuid4()),
        "case_no": "(2026)中证受字第0001号",
        "certificate_no": "(2026)粤中中证字第01234号",
        "issued_at": datetime.now(UTC).isoformat(),
        "notary_name": "王公证员",
        "verification_code": "7KQ2-9XZD",
        "certificate": {
            "kind": "certificate",
            "title": "公证书",
            "attachment": "certificate.pdf",
            "sha256": hashlib.sha256(pdf).hexdigest(),
        },
    }


def put(
    sender: Organisation,
    recipient: Organisation,
    message_type: str = "case.refused",
    body: dict[str, Any] | None = None,
    attachments: dict[str, bytes] | None = None,
) -> OutboxMessage:
    with transaction.atomic():
        return outbox_put(
            sender=sender,
            recipient=recipient,
            body=typed(message_type, body if body is not None else refused_body()),
            attachments=attachments,
        )


def signed(
    row: OutboxMessage, *, raw: bytes | None = None, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The row's envelope (or ``raw``) signed the way the relay signs it."""
    data = bytes(row.raw) if raw is None else raw
    headers = route_to(row.recipient).sign(
        sender=row.sender, message_id=row.pk, raw=data, timestamp=int(time.time()) if timestamp is None else timestamp
    )
    return data, headers


class Effects:
    """A handler that records one audit event per applied message, so effects can be counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.seen: list[ReceivedMessage] = []

    def register(self, message_type: str = "case.refused", *, fail: Callable[[], None] | None = None) -> None:
        def handler(message: ReceivedMessage) -> None:
            record_event(EFFECT, organisation=message.recipient, data={"message": str(message.id)}, ctx=message.ctx)
            self.seen.append(message)
            if fail is not None:
                fail()

        self.monkeypatch.setitem(handlers.HANDLERS, message_type, handler)

    def count(self, message_id: uuid.UUID | None = None) -> int:
        events = AuditEvent.objects.filter(tag=EFFECT)
        if message_id is not None:
            events = events.filter(data__message=str(message_id))
        return events.count()


@pytest.fixture
def effects(monkeypatch: pytest.MonkeyPatch) -> Effects:
    found = Effects(monkeypatch)
    found.register()
    return found


def refusals(code: str | None = None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(tag="exchange.message.refused").order_by("id")
    return [e for e in events if code is None or e.data.get("code") == code]


def raise_domain_error() -> None:
    raise DomainError(zh="案件状态已变化", en="the case moved on", code="conflict")
