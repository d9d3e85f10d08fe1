"""Fixtures for the cancellation tests: a contract of the operator's company and applications on it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ecancel.accounts.models import Organisation, User
from ecancel.cancellation.models import Application
from ecancel.cancellation.services import Actor, application_create, application_set_reason
from ecancel.core.context import RequestContext
from ecancel.filing.models import FiledContract
from tests.factories import contract_with_buyers


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
