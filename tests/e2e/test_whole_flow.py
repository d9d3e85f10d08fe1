"""Issue 13 item 9: one case the whole way on one deployment — the operator's API, both buyers on their phones
(a mainland citizen by face, a passport holder by document and video), the notary's review page, the signed
certificate back to the filing side, the filing cancelled and the home for sale again — and the refuse path.

Transactions really commit: the relay, the office's acceptance and the certification run as queued on commit.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import nullcontext
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from pytest_django import Settings

from ecancel.accounts.models import Organisation, Role
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext
from ecancel.documents.verification import verify_pdf
from ecancel.exchange.models import InboxMessage, OutboxMessage
from ecancel.exchange.transitions import InboxStatus, OutboxStatus
from ecancel.filing.models import FiledContract
from ecancel.identity.id_numbers import IdType
from ecancel.notary.models import NotaryCase
from ecancel.notifications.models import Notification
from tests.buyers.journey import Phone, mainland_to_done, passport_to_done
from tests.conftest import logged_in_client
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

API = "/api/filing/applications"


@pytest.fixture(autouse=True)
def null_identity(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}


def call(client: Client, method: str, url: str, data: dict[str, Any] | None = None, expect: int = 200) -> Any:
    response = getattr(client, method)(url, data or {}, content_type="application/json")
    assert response.status_code == expect, (url, response.status_code, response.content.decode()[:500])
    return response.json()


def committed(**_: Any) -> Any:
    """Transactions commit here, so on-commit work runs by itself: the phone needs no capture."""
    return nullcontext()


@pytest.fixture
def world() -> tuple[Organisation, Organisation, FiledContract, Client]:
    seller = DeveloperFactory().organisation
    office = NotaryOfficeFactory().organisation
    contract = contract_with_buyers(2, seller=seller)
    contract.buyers.filter(position=2).update(
        id_type=IdType.PASSPORT, id_number="E12345678", id_issuing_country="USA", region="美国"
    )
    _, token = api_token_create(organisation=seller, name="ERP", actor=None, ctx=RequestContext.system())
    return seller, office, contract, Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def pushed_for_review(
    world: tuple[Organisation, Organisation, FiledContract, Client],
) -> tuple[str, NotaryCase, Phone]:
    """Create and push through the API, then both buyers through their phones: the case waits for review."""
    _seller, office, contract, api = world
    created = call(api, "post", API, {"contract_id": str(contract.pk)}, expect=201)
    url = f"{API}/{created['id']}"
    call(api, "put", f"{url}/reason", {"reason": "mutual_agreement"})
    call(api, "put", f"{url}/notary-office", {"notary_office_id": str(office.pk)})
    pushed = call(api, "post", f"{url}/push", {"version": 1})
    assert pushed["status"] == "awaiting_buyers", pushed
    handoff = pushed["qr"]["url"]
    phone = Phone(committed)
    mainland_to_done(phone, handoff, position=1)
    passport_to_done(Phone(committed, ip="198.51.100.7"), handoff, position=2)
    assert call(api, "get", url)["status"] == "under_review"
    case = NotaryCase.objects.get(application_ref=created["id"])
    return url, case, phone


def test_the_whole_flow_cancels_the_filing(world: tuple[Organisation, Organisation, FiledContract, Client]) -> None:
    _seller, office, contract, api = world
    url, case, phone = pushed_for_review(world)
    notary = logged_in_client(UserFactory(organisation=office, role=Role.NOTARY, display_name="陈公证"))
    page = notary.get(f"/notary/review/{case.pk}/").content.decode()
    assert "核准出证" in page
    assert notary.post(f"/notary/review/{case.pk}/approve/", {"approve-confirmed": "on"}).status_code == 302

    application = call(api, "get", url)
    assert application["status"] == "cancelled", application
    certificate = application["certificate"]
    case.refresh_from_db()
    assert certificate["certificate_no"] == case.certificate_no and certificate["notary_name"] == "陈公证"
    contract.refresh_from_db()
    assert contract.status == "cancelled" and contract.unit.status == "available"

    pdf = api.get(f"{url}/certificate.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == certificate["sha256"]
    assert verify_pdf(pdf.content).valid

    # The QR on the certificate leads to the public check, which names the parties masked.
    query = parse_qs(urlparse(certificate["verification_url"]).query)
    checked = Client().get("/verify/", {"no": query["no"][0], "code": query["code"][0]})
    assert checked.status_code == 200
    shown = checked.content.decode()
    assert "验证通过" in shown and case.certificate_no in shown
    for buyer in contract.buyers.all():
        assert buyer.name not in shown and buyer.name[0] in shown

    # The buyer downloads it from 我的 on the phone that went through the case; a stranger's phone reaches nothing.
    mine = phone.get(f"/b/mine/{case.pk}/").content.decode()
    assert case.certificate_no in mine and "下载公证书" in mine
    downloaded = phone.get(f"/b/mine/{case.pk}/certificate.pdf")
    assert downloaded.status_code == 200 and b"".join(downloaded.streaming_content) == pdf.content
    assert Phone(committed, ip="192.0.2.9").get(f"/b/mine/{case.pk}/certificate.pdf").status_code == 404
    assert Notification.objects.filter(event="case.certified").count() == 2
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists()
    applied = InboxMessage.objects.filter(status=InboxStatus.APPLIED, message_type="certificate.issued")
    assert applied.count() == 1


def test_the_refuse_path_lets_the_operator_correct_and_push_again(
    world: tuple[Organisation, Organisation, FiledContract, Client],
) -> None:
    _seller, office, contract, api = world
    url, case, _phone = pushed_for_review(world)
    notary = logged_in_client(UserFactory(organisation=office, role=Role.NOTARY))
    refused = notary.post(
        f"/notary/review/{case.pk}/refuse/",
        {"reason_code": "document_invalid", "reason_text": "护照已过期", "confirmed": "on"},
    )
    assert refused.status_code == 302
    application = call(api, "get", url)
    assert application["status"] == "refused" and "护照已过期" in application["notary_message"]
    assert application["editable"] is True
    contract.refresh_from_db()
    assert contract.status == "cancelling", "the filing stays until a certificate cancels it"
    assert Notification.objects.filter(event="case.refused").count() == 2

    again = call(api, "post", f"{url}/push", {"version": application["version"]})
    assert again["status"] == "awaiting_buyers" and again["qr"]["case_number"] != case.case_number


def test_no_id_number_or_phone_number_reaches_the_logs(
    world: tuple[Organisation, Organisation, FiledContract, Client], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 15 item 8: every log line of a whole case, at DEBUG, is free of the people's ID and phone numbers."""
    caplog.set_level(logging.DEBUG)
    _seller, office, contract, _api = world
    _url, case, _phone = pushed_for_review(world)
    notary = logged_in_client(UserFactory(organisation=office, role=Role.NOTARY))
    assert notary.post(f"/notary/review/{case.pk}/approve/", {"approve-confirmed": "on"}).status_code == 302
    case.refresh_from_db()
    assert case.certificate_no, "the case went the whole way"

    secrets = {value for buyer in contract.buyers.all() for value in (buyer.id_number, buyer.phone) if value}
    logged = [f"{record.name}: {record.getMessage()} {record.exc_text or ''}" for record in caplog.records]
    assert len(logged) > 20, "the flow logs: the scan has something to scan"
    leaks = [line for line in logged if any(secret in line for secret in secrets)]
    assert not leaks, leaks[:5]
