"""Issue 4 item 13(a): create → push → QR → revoke → correct → re-push through the API, one deployment.

Both sides are hosted here (``ECANCEL_HOSTED_SIDES`` default): every message still goes through the
outbox, the relay (kicked on commit, eager in tests), the in-process transport and the inbox.
Transactions really commit, so nothing is driven by hand.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client

from ecancel.accounts.models import Organisation
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext
from ecancel.exchange.models import InboxMessage, OutboxMessage
from ecancel.exchange.transitions import InboxStatus, OutboxStatus
from ecancel.filing.models import FiledContract
from tests.factories import DeveloperFactory, NotaryOfficeFactory, contract_with_buyers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]  # the demo's whole flow

API = "/api/filing/applications"


def call(client: Client, method: str, url: str, data: dict[str, Any] | None = None, expect: int = 200) -> Any:
    response = getattr(client, method)(url, data or {}, content_type="application/json")
    assert response.status_code == expect, (url, response.status_code, response.content.decode()[:500])
    return response.json()


def scan(client: Client, handoff_url: str) -> tuple[int, str]:
    """What a phone sees when it opens the QR code's link (served by this same deployment)."""
    response = client.get(urlparse(handoff_url).path, follow=True)
    return response.status_code, response.content.decode()


@pytest.fixture
def world() -> tuple[Organisation, Organisation, FiledContract, str]:
    seller = DeveloperFactory().organisation
    office = NotaryOfficeFactory().organisation
    contract = contract_with_buyers(2, seller=seller)
    _, token = api_token_create(organisation=seller, name="ERP", actor=None, ctx=RequestContext.system())
    return seller, office, contract, token


def test_create_push_qr_revoke_correct_repush(world: tuple[Organisation, Organisation, FiledContract, str]) -> None:
    _seller, office, contract, token = world
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    phone = Client()

    created = call(api, "post", API, {"contract_id": str(contract.pk)}, expect=201)
    url = f"{API}/{created['id']}"
    call(api, "put", f"{url}/reason", {"reason": "mutual_agreement"})
    call(api, "put", f"{url}/notary-office", {"notary_office_id": str(office.pk)})
    assert all(c["ok"] for c in call(api, "get", f"{url}/checks"))

    pushed = call(api, "post", f"{url}/push", {"version": 1})
    # The relay ran on commit: the notary office opened the case and its answer is already applied.
    assert pushed["status"] == "awaiting_buyers", pushed
    first_qr = pushed["qr"]
    assert first_qr["case_number"].startswith("(20") and "中证受字第" in first_qr["case_number"]
    status, html = scan(phone, first_qr["url"])
    assert status == 200 and 'data-state="choose"' in html
    for applicant in contract.buyers.all():
        assert applicant.name not in html and applicant.id_number not in html
    contract.refresh_from_db()
    assert contract.status == "cancelling"

    revoked = call(api, "post", f"{url}/revoke", {"version": 1, "reason": "买受人电话有误"})
    assert (revoked["status"], revoked["version"]) == ("draft", 2), revoked
    assert revoked["qr"] is None
    status, html = scan(phone, first_qr["url"])
    assert status == 410 and "已失效" in html

    buyers = {b.position: b for b in contract.buyers.all()}
    corrected = {
        "applicants": [
            {
                "name": a["name"],
                "id_type": a["id_type"],
                "id_number": buyers[a["position"]].id_number,
                "phone": "13712345678" if a["position"] == 2 else a["phone"],
                "address": a["address"],
            }
            for a in revoked["applicants_detail"]
        ]
    }
    call(api, "put", f"{url}/applicants", corrected)
    repushed = call(api, "post", f"{url}/push", {"version": 2})
    assert (repushed["status"], repushed["version"]) == ("awaiting_buyers", 2), repushed
    second_qr = repushed["qr"]
    assert second_qr["url"] != first_qr["url"]
    assert second_qr["case_number"] != first_qr["case_number"]
    latest = repushed["pushes"][0]
    assert latest["version"] == 2 and latest["message_type"] == "materials.repushed"
    assert [(c["label"], c["after"]) for c in latest["changes"]] == [("申请人2联系电话", "13712345678")]
    assert [p["outcome"] for p in repushed["pushes"]] == ["accepted", "revoked"]

    assert scan(phone, first_qr["url"])[0] == 410, "the old link stays invalid"
    status, html = scan(phone, second_qr["url"])
    assert status == 200 and 'data-state="choose"' in html

    # Every message was delivered once and applied once.
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists()
    types = sorted(InboxMessage.objects.filter(status=InboxStatus.APPLIED).values_list("message_type", flat=True))
    assert types == sorted(
        ["materials.pushed", "case.accepted", "revoke.requested", "case.revoked", "materials.repushed", "case.accepted"]
    )
