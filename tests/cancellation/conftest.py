"""Fixtures for the cancellation tests: a contract of the operator's company and applications on it."""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from PIL import Image

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, User
from ecancel.cancellation.models import Application
from ecancel.cancellation.services.drafting import application_create, application_set_reason
from ecancel.core.context import RequestContext
from ecancel.exchange.models import InboxMessage
from ecancel.exchange.routing import route_to
from ecancel.exchange.services import inbox_accept, outbox_put
from ecancel.filing.models import FiledContract
from tests.factories import contract_with_buyers
from tests.messages import typed


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(ip="127.0.0.1", user_agent="pytest", via="test")


@pytest.fixture
def actor(operator: User) -> Actor:
    return Actor.staff(operator)


@pytest.fixture
def contract(developer: Organisation) -> FiledContract:
    return contract_with_buyers(2, seller=developer)


@pytest.fixture
def application(contract: FiledContract, actor: Actor, ctx: RequestContext) -> Application:
    return application_create(contract_id=contract.pk, actor=actor, ctx=ctx)


@pytest.fixture
def ready_application(
    application: Application, notary_office: Organisation, actor: Actor, ctx: RequestContext
) -> Application:
    """A draft that passes every pre-push check once a notary office is chosen at push time."""
    application_set_reason(application_id=application.pk, reason="mutual_agreement", actor=actor, ctx=ctx)
    application.refresh_from_db()
    return application


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 130, 30)).save(out, format="JPEG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def notary_says(office: Organisation, seller: Organisation, message_type: str, body: dict[str, Any]) -> InboxMessage:
    """The notary office's answer, signed and received through the real exchange inbox (only this message)."""
    with transaction.atomic():
        row = outbox_put(sender=office, recipient=seller, body=typed(message_type, body))
    raw = bytes(row.raw)
    headers = route_to(seller).sign(sender=office, message_id=row.pk, raw=raw, timestamp=int(time.time()))
    return inbox_accept(raw, headers)


def accepted_body(
    application: Application, *, version: int | None = None, case_no: str = "(2026)中证受字第0001号"
) -> dict[str, Any]:
    now = timezone.now()
    return {
        "application_ref": str(application.pk),
        "version": version or application.version,
        "case_ref": str(uuid.uuid4()),
        "case_no": case_no,
        "handoff_url": f"http://127.0.0.1:8000/h/{uuid.uuid4().hex}",
        "handoff_expires_at": (now + dt.timedelta(days=7)).isoformat(),
        "accepted_at": now.isoformat(),
    }


def answer_body(application: Application, **fields: Any) -> dict[str, Any]:
    return {"application_ref": str(application.pk), "version": application.version, **fields}
