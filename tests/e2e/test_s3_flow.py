"""The real flows with every file in an S3 bucket (moto's server on 127.0.0.1): the seller's power of attorney, the
buyers' uploads and identity evidence, the documents both sides generate and sign, the materials the notary
office receives and the certificate the filing side gets back — each written to the bucket, none to the local
folder, each sealed under the key ring in the bucket, each download permission-checked, and another
organisation's request refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from ecancel.accounts.models import Organisation, Role
from ecancel.accounts.services import api_token_create
from ecancel.buyers.models import JourneyUpload
from ecancel.core.context import RequestContext
from ecancel.documents.models import StoredDocument
from ecancel.documents.services import document_files_sweep
from ecancel.documents.verification import verify_pdf
from ecancel.filing.models import FiledContract
from ecancel.identity.id_numbers import IdType
from ecancel.notary.models import NotaryCase
from ecancel.notary.services.files import material_files_sweep
from tests.buyers.journey import Phone, mainland_to_done, passport_to_done
from tests.cancellation.conftest import pdf_bytes
from tests.conftest import logged_in_client
from tests.e2e.test_whole_flow import call, committed
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers, mainland_id
from tests.s3_server import S3Server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

API = "/api/filing/applications"
PREFIX = "city"


@pytest.fixture
def bucket(s3_server: S3Server, settings: Settings) -> str:
    name = s3_server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage_setting(name, ECANCEL_S3_PREFIX=PREFIX)}
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}
    return name


def api_client(seller: Organisation) -> Client:
    _, token = api_token_create(organisation=seller, name="ERP", actor=None, ctx=RequestContext.system())
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def local_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_a_whole_case_keeps_every_file_in_the_bucket(s3_server: S3Server, bucket: str) -> None:
    seller, office = DeveloperFactory().organisation, NotaryOfficeFactory().organisation
    contract: FiledContract = contract_with_buyers(2, seller=seller)
    contract.buyers.filter(position=2).update(
        id_type=IdType.PASSPORT, id_number="E12345678", id_issuing_country="USA", region="美国"
    )
    api = api_client(seller)
    before = set(local_files())
    created = call(api, "post", API, {"contract_id": str(contract.pk)}, expect=201)
    url = f"{API}/{created['id']}"
    call(api, "put", f"{url}/reason", {"reason": "mutual_agreement"})
    call(api, "put", f"{url}/notary-office", {"notary_office_id": str(office.pk)})
    handoff = call(api, "post", f"{url}/push", {"version": 1})["qr"]["url"]
    phone = Phone(committed)
    mainland_to_done(phone, handoff, position=1)
    passport_to_done(Phone(committed, ip="198.51.100.7"), handoff, position=2)
    case = NotaryCase.objects.get(application_ref=created["id"])
    notary = logged_in_client(UserFactory(organisation=office, role=Role.NOTARY, display_name="陈公证"))
    assert notary.post(f"/notary/review/{case.pk}/approve/", {"approve-confirmed": "on"}).status_code == 302
    certificate = call(api, "get", url)["certificate"]
    assert certificate, "the certificate came back to the filing side"

    keys = s3_server.keys(bucket)
    folders = {key.split("/")[1] for key in keys}
    assert all(key.startswith(f"{PREFIX}/") for key in keys)
    assert {"documents", "identity", "notary", "certificates"} <= folders, folders
    assert set(local_files()) == before, "nothing was written to the local folder"
    assert all(httpx.get(f"{s3_server.endpoint_url}/{bucket}/{key}").status_code == 403 for key in keys)
    magics = {key: stored(s3_server, bucket, key)[:3] for key in keys}
    assert {magic for key, magic in magics.items() if key.split("/")[1] == "identity"} == {b"EV1"}
    assert {magic for key, magic in magics.items() if key.split("/")[1] != "identity"} == {b"EF1"}, magics

    # The certificate: to the seller's system, to the buyer's phone; to nobody else.
    pdf = api.get(f"{url}/certificate.pdf")
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == certificate["sha256"]
    assert verify_pdf(pdf.content).valid
    on_phone = phone.get(f"/b/mine/{case.pk}/certificate.pdf")
    assert on_phone.status_code == 200 and b"".join(on_phone.streaming_content) == pdf.content
    assert api_client(DeveloperFactory().organisation).get(f"{url}/certificate.pdf").status_code == 404
    assert Phone(committed, ip="192.0.2.9").get(f"/b/mine/{case.pk}/certificate.pdf").status_code == 404

    # The office's signed documents, the received materials and the buyers' evidence: to this office's notary only.
    document = StoredDocument.objects.filter(subject_ref=case.subject_ref).first()
    material = case.materials.first()
    upload = JourneyUpload.objects.filter(journey__case=case).first()
    assert document is not None and material is not None and upload is not None
    stranger = logged_in_client(UserFactory(organisation=NotaryOfficeFactory().organisation, role=Role.NOTARY))
    addresses = {
        f"/notary/cases/{case.pk}/documents/{document.pk}": document.sha256,
        f"/notary/cases/{case.pk}/materials/{material.pk}": material.sha256,
        f"/notary/review/{case.pk}/uploads/{upload.pk}": upload.sha256,
    }
    for address, sha256 in addresses.items():
        answer = notary.get(address)
        assert answer.status_code == 200, address
        assert hashlib.sha256(_body(answer)).hexdigest() == sha256, address
        assert stranger.get(address).status_code == 404, address

    # Every file is some row's: the sweeps, run as if hours later, list the day folders and remove nothing.
    kept = s3_server.keys(bucket)
    later = timezone.now() + dt.timedelta(hours=2)
    assert document_files_sweep(now=later) == []
    assert material_files_sweep(now=later, ctx=RequestContext.system("test")) == []
    assert s3_server.keys(bucket) == kept


def test_the_power_of_attorney_is_kept_in_the_bucket_and_served_to_its_company_only(
    s3_server: S3Server, bucket: str
) -> None:
    seller = DeveloperFactory().organisation
    contract = contract_with_buyers(2, seller=seller)
    api = api_client(seller)
    created = call(api, "post", API, {"contract_id": str(contract.pk)}, expect=201)
    document = pdf_bytes()
    agent = {
        "name": "赵代理",
        "id_type": IdType.MAINLAND_ID,
        "id_number": mainland_id(777),
        "phone": "13600000000",
        "acts_for": [2],
        "power_of_attorney_base64": base64.b64encode(document).decode(),
    }
    call(api, "put", f"{API}/{created['id']}/agent", agent)
    (key,) = s3_server.keys(bucket, f"{PREFIX}/cancellation/poa/")
    sealed = stored(s3_server, bucket, key)
    assert sealed.startswith(b"EF1") and b"%PDF" not in sealed

    address = f"/operator/applications/{created['id']}/agent/power-of-attorney/"
    operator = logged_in_client(UserFactory(organisation=seller, role=Role.OPERATOR))
    answer = operator.get(address)
    assert answer.status_code == 200 and _body(answer) == document
    assert answer["Content-Disposition"].startswith("attachment;") and answer["X-Content-Type-Options"] == "nosniff"
    other = logged_in_client(UserFactory(organisation=DeveloperFactory().organisation, role=Role.OPERATOR))
    assert other.get(address).status_code == 404


def stored(s3_server: S3Server, bucket: str, key: str) -> bytes:
    """An object as the bucket holds it."""
    body: bytes = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)
