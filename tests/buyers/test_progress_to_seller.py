"""From the seller's push to the buyer's phone and back: the operator sees each buyer's progress as it happens."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.test import Client
from pytest_django import Settings

from ecancel.accounts.models import Role
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext
from tests.conftest import logged_in_client
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
API = "/api/filing/applications"


def test_the_operator_sees_a_buyer_in_progress_after_the_consents(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    seller = DeveloperFactory().organisation
    office = NotaryOfficeFactory().organisation
    contract = contract_with_buyers(2, seller=seller)
    _, token = api_token_create(organisation=seller, name="ERP", actor=None, ctx=RequestContext.system())
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    created = api.post(API, {"contract_id": str(contract.pk)}, content_type="application/json").json()
    url = f"{API}/{created['id']}"
    api.put(f"{url}/reason", {"reason": "mutual_agreement"}, content_type="application/json")
    api.put(f"{url}/notary-office", {"notary_office_id": str(office.pk)}, content_type="application/json")
    pushed = api.post(f"{url}/push", {"version": 1}, content_type="application/json").json()
    assert pushed["status"] == "awaiting_buyers", pushed

    operator = logged_in_client(UserFactory(organisation=seller, role=Role.OPERATOR))
    page = f"/operator/applications/{created['id']}/"
    assert operator.get(page).content.decode().count("未核验") == 2

    phone = Client()
    assert phone.get(urlparse(pushed["qr"]["url"]).path)["Location"] == "/b/"
    assert phone.post("/b/choose/", {"buyer": 1})["Location"] == "/b/consent/"
    assert phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})["Location"] == "/b/face/"
    # The notary side told the seller (buyer.started, relayed on commit): one buyer 进行中, one 未核验.
    html = operator.get(page).content.decode()
    assert 'data-progress="in_progress"' in html and html.count("未核验") == 1
    # The four documents the buyer reads are the real ones intake received (signed by the seller) and issued.
    for key in ("termination_agreement", "notarization_application", "notarization_notice", "intake_record"):
        shown = phone.get(f"/b/doc/{key}/")
        assert shown.status_code == 200 and shown.content.startswith(b"%PDF"), key
