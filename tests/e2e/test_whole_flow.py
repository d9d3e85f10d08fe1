"""Issue 13 item 9: one case the whole way on one deployment — the operator's API, both buyers on their phones
(a mainland citizen by face, a passport holder by document and video), the notary's review page, the signed
certificate back to the filing side, the filing cancelled and the home for sale again — and the refuse path; and
(issue 15 item 9) that the filing side keeps none of the buyers' biometrics beyond the certificate's annex.

Transactions really commit: the relay, the office's acceptance and the certification run as queued on commit.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import nullcontext
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.apps import apps
from django.db.models import FileField
from django.test import Client
from pytest_django import Settings

from ecancel.accounts.models import Organisation, Role
from ecancel.accounts.services import api_token_create
from ecancel.buyers.models import JourneyUpload, UploadSlot
from ecancel.core.context import RequestContext
from ecancel.documents.models import StoredDocument
from ecancel.documents.verification import verify_pdf
from ecancel.exchange.envelope import parse_envelope
from ecancel.exchange.models import InboxMessage, OutboxMessage
from ecancel.exchange.transitions import InboxStatus, OutboxStatus
from ecancel.filing.models import FiledContract
from ecancel.identity.evidence import evidence_get
from ecancel.identity.id_numbers import IdType
from ecancel.identity.models import CheckEvidence
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
    passport_holder = contract.buyers.get(position=2)
    passport_holder.id_type, passport_holder.id_number = IdType.PASSPORT, "E12345678"
    passport_holder.id_issuing_country, passport_holder.region = "USA", "美国"
    passport_holder.save()
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


def filing_side_holdings(seller: Organisation) -> dict[str, bytes]:
    """Everything the filing side keeps, by where it is: each value and file of its tables, its documents, and the
    messages it sent and received with their attachments."""
    held: dict[str, bytes] = {}
    for label in ("filing", "cancellation"):
        for model in apps.get_app_config(label).get_models():
            for row in model.objects.all():
                for field in model._meta.concrete_fields:
                    value = field.value_from_object(row)
                    where = f"{model.__name__}.{field.name}#{row.pk}"
                    if isinstance(field, FileField):
                        if value:
                            with value.open("rb") as handle:
                                held[where] = handle.read()
                    elif isinstance(value, bytes | memoryview):
                        held[where] = bytes(value)
                    else:
                        held[where] = str(value).encode()
    for document in StoredDocument.objects.filter(subject_ref__startswith="application:"):
        with document.content.open("rb") as handle:
            held[f"StoredDocument#{document.pk}"] = handle.read()
    messages = [*OutboxMessage.objects.filter(sender=seller), *InboxMessage.objects.filter(recipient=seller)]
    for message in messages:
        envelope = parse_envelope(bytes(message.raw))
        held[f"{envelope.type}#{envelope.id}"] = bytes(message.raw)
        for name in envelope.attachments:
            held[f"{envelope.type}#{envelope.id}/{name}"] = envelope.attachment_bytes(name)
    return held


def test_the_filing_side_keeps_no_face_capture_or_video_of_the_buyers(
    world: tuple[Organisation, Organisation, FiledContract, Client],
) -> None:
    """Issue 15 item 9: the buyers' biometrics stay on the notary side; the seller's side holds none of them, by
    content or by hash, in its tables, its files or its messages — but for the ID document pictures the
    certificate appends."""
    seller, office, _contract, _api = world
    _url, case, _phone = pushed_for_review(world)
    notary = logged_in_client(UserFactory(organisation=office, role=Role.NOTARY))
    assert notary.post(f"/notary/review/{case.pk}/approve/", {"approve-confirmed": "on"}).status_code == 302

    def opened(name: str) -> bytes:
        return evidence_get(name, actor=None, organisation=None, ctx=None)

    biometric = {
        f"{e.check_run.kind} {e.role} #{e.pk}": (opened(e.stored_name), e.sha256)
        for e in CheckEvidence.objects.filter(check_run__case_ref=case.subject_ref)
        .exclude(stored_name="")
        .select_related("check_run")
    }
    biometric |= {
        f"upload {u.slot} #{u.pk}": (opened(u.stored_name), u.sha256)
        for u in JourneyUpload.objects.filter(journey__case=case).exclude(slot=UploadSlot.SIGNATURE)
    }
    kinds = {what.split(" #")[0] for what in biometric}
    assert {"face capture", "video video", "upload document_front", "upload holding"} <= kinds, kinds
    held = filing_side_holdings(seller)
    assert any(where.startswith("ReceivedCertificate.content") for where in held), "the flow reached the filing side"

    found = [
        (what, where)
        for what, (content, sha256) in biometric.items()
        for where, kept in held.items()
        if content in kept or sha256.encode() in kept
    ]
    # The 公证书 appends each buyer's ID document, front and back (its annex, manual step 8), so those two pictures
    # travel inside the signed certificate the filing side keeps; nothing else of the buyers' evidence reaches it.
    # (The test phone sends one picture as front, back and holding photo, so an ID document is known by content.)
    id_documents = {
        content
        for what, (content, _sha256) in biometric.items()
        if what.split(" #")[0] in {"upload document_front", "upload document_back"}
    }
    certificate = {"ReceivedCertificate.content", "certificate.issued"}
    elsewhere = [
        (what, where)
        for what, where in found
        if biometric[what][0] not in id_documents or where.split("#")[0] not in certificate
    ]
    assert not elsewhere, elsewhere[:5]
