"""Fixtures of the notary side: a seller with a fixed identity (so its signed PDFs can be cached) and an office."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ecancel.accounts.models import NotaryOffice, Organisation, OrganisationKind, Role, User
from ecancel.exchange.messages import MaterialsPushed
from ecancel.notary.models import NotaryCase
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory
from tests.notary.helpers import filing_pdfs, push_body, send

SELLER_ID = uuid.UUID("5e11e500-0000-4000-8000-000000000001")
SELLER_NAME = "中山市翠亨湾置业有限公司（测试）"


@pytest.fixture
def seller(db: None) -> Organisation:
    return DeveloperFactory(
        organisation__id=SELLER_ID, organisation__name=SELLER_NAME, organisation__kind=OrganisationKind.DEVELOPER
    ).organisation


@pytest.fixture
def office(db: None) -> NotaryOffice:
    return NotaryOfficeFactory(
        organisation__name="广东省中山市中山公证处（测试）",
        organisation__address="广东省中山市东区中山四路1号",
        case_prefix="中证受字",
    )


@pytest.fixture
def clerk(office: NotaryOffice) -> User:
    return UserFactory(organisation=office.organisation, role=Role.NOTARY_CLERK, password=None)


@pytest.fixture
def push(seller: Organisation, office: NotaryOffice) -> Any:
    """Push materials from ``seller`` to ``office`` through the exchange, as the filing side does."""

    def do_push(
        *,
        files: dict[str, bytes] | None = None,
        message_type: str = MaterialsPushed.TYPE,
        **body_options: Any,
    ) -> dict[str, Any]:
        attachments = files if files is not None else filing_pdfs(seller)
        body = push_body(seller=seller, office=office.organisation, files=attachments, **body_options)
        send(
            sender=seller,
            recipient=office.organisation,
            message_type=message_type,
            body=body,
            attachments=attachments,
        )
        return body

    return do_push


@pytest.fixture
def received_case(push: Any) -> NotaryCase:
    body = push()
    return NotaryCase.objects.get(application_ref=body["application_ref"])
