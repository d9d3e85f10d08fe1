"""Issue 4 item 13(b): the same flow as test_one_machine, across two deployments.

The filing deployment (``ECANCEL_HOSTED_SIDES=filing``) and the notary deployment
(``ECANCEL_HOSTED_SIDES=notary``) each have their own data directory, SQLite database, keys, CA
and ``runserver`` on 127.0.0.1. They know the same organisations (same UUIDs), exchange public keys
with ``exchange_identity`` / ``exchange_peer import`` and talk only over HTTP. The test drives both
through their APIs with each organisation's token, and opens the QR link like a phone would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.servers import Deployment, introduce, serving, wait_for

pytestmark = pytest.mark.slow

SELLER_ID = uuid.UUID("5e11e4a0-0000-4000-8000-00000000e2e1")
OFFICE_ID = uuid.UUID("5e11e4a0-0000-4000-8000-00000000e2e2")

# The organisations both deployments know, with the same ids.
ORGANISATIONS = f"""
import sys
from django.core.management import call_command
from ecancel.accounts.models import NotaryOffice, Organisation
from tests.factories import DeveloperFactory, credit_code, mainland_id
call_command("migrate", verbosity=0)
seller = Organisation.objects.create(
    id="{SELLER_ID}", kind="developer", name="双部署演示置业有限公司", address="中山市东区双部署路1号"
)
DeveloperFactory(  # with the licence and ID pictures a push carries
    organisation=seller, credit_code=credit_code(4242), legal_representative_id_number=mainland_id(4242)
)
office = Organisation.objects.create(
    id="{OFFICE_ID}", kind="notary_office", name="双部署演示公证处", address="中山市石岐区公证路2号"
)
NotaryOffice.objects.create(organisation=office, code="E2E01", certificate_prefix="粤中中证字", case_prefix="中证受字")
# This deployment's own CA (signing and timestamps): the other deployment is told to trust its root.
from pathlib import Path
from django.conf import settings
from ecancel.documents.pki.backends import local_root
local_root(Path(settings.ECANCEL_KEYS_DIR))
"""

CONTRACT = f"""
from ecancel.accounts.models import Organisation
from tests.factories import contract_with_buyers
contract = contract_with_buyers(2, seller=Organisation.objects.get(pk="{SELLER_ID}"))
print(contract.pk)
"""


@dataclass
class Api:
    """A system integration calling one deployment's API with its organisation's token."""

    deployment: Deployment
    token: str

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = httpx.request(
            method,
            f"{self.deployment.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
        )
        assert response.status_code == expect, (path, response.status_code, response.text[:800], self.deployment.tail())
        return response.json()


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, Deployment, str]]:
    root = tmp_path_factory.mktemp("two-deployments")
    filing = Deployment("filing", "filing", root)
    notary = Deployment("notary", "notary", root)
    for deployment in (filing, notary):
        deployment.manage("shell", "--no-imports", "-c", ORGANISATIONS)
    introduce(root, filing, notary)
    for here, there in ((filing, notary), (notary, filing)):
        # Signed PDFs cross too: each side trusts the other's CA (in production: the real CAs' roots).
        assert there.root_certificate.exists()
        here.trusted_roots.append(there.root_certificate)
    contract_id = filing.manage("shell", "--no-imports", "-c", CONTRACT).strip()
    with serving(filing, notary):
        yield filing, notary, contract_id


def test_create_push_qr_revoke_correct_repush_over_http(deployments: tuple[Deployment, Deployment, str]) -> None:
    filing, notary, contract_id = deployments
    # Separate databases: each side knows only what it hosts and what it was told.
    identity = json.loads(filing.manage("exchange_identity"))
    assert [o["id"] for o in identity["organisations"]] == [str(SELLER_ID)]
    # The office's document-signing key, as its deployment exported it, is pinned on the filing side.
    [office_identity] = json.loads((notary.root / "notary.json").read_text())["organisations"]
    [office_pin] = office_identity["document_signing_pins"]
    assert office_pin in filing.manage("exchange_peer", "list")
    seller = Api(
        filing, filing.manage("api_token", "create", "--organisation", str(SELLER_ID), "--name", "ERP").strip()
    )
    office = Api(
        notary, notary.manage("api_token", "create", "--organisation", str(OFFICE_ID), "--name", "公证系统").strip()
    )

    created = seller("POST", "/api/filing/applications", {"contract_id": contract_id}, expect=201)
    path = f"/api/filing/applications/{created['id']}"
    seller("PUT", f"{path}/reason", {"reason": "loan_refused"})
    assert [o["id"] for o in seller("GET", "/api/filing/notary-offices")] == [str(OFFICE_ID)]
    seller("POST", f"{path}/push", {"version": 1, "notary_office_id": str(OFFICE_ID)})

    accepted = wait_for(lambda: seller("GET", path), lambda a: a["status"] == "awaiting_buyers", "case.accepted")
    first_qr = accepted["qr"]
    assert first_qr["url"].startswith(f"{notary.url}/h/")
    [case] = office("GET", "/api/notary/cases")["items"]
    assert (case["case_number"], case["application_version"]) == (first_qr["case_number"], 1)
    phone = httpx.get(first_qr["url"], timeout=30, follow_redirects=True)
    assert phone.status_code == 200 and 'data-state="choose"' in phone.text

    seller("POST", f"{path}/revoke", {"version": 1, "reason": "联系电话有误"})
    revoked = wait_for(lambda: seller("GET", path), lambda a: a["status"] == "draft", "case.revoked")
    assert revoked["version"] == 2
    phone = httpx.get(first_qr["url"], timeout=30)
    assert phone.status_code == 410 and "已失效" in phone.text

    buyers = filing.manage(
        "shell",
        "--no-imports",
        "-c",
        "import json; from ecancel.filing.models import BuyerParty; "
        f"buyers = BuyerParty.objects.filter(contract_id='{contract_id}'); "
        "print(json.dumps({b.position: b.id_number for b in buyers}))",
    )
    numbers = {int(k): v for k, v in json.loads(buyers).items()}
    applicants = [
        {
            "name": a["name"],
            "id_type": a["id_type"],
            "id_number": numbers[a["position"]],
            "phone": "13787654321" if a["position"] == 1 else a["phone"],
            "address": a["address"],
        }
        for a in revoked["applicants_detail"]
    ]
    seller("PUT", f"{path}/applicants", {"applicants": applicants})
    seller("POST", f"{path}/push", {"version": 2})
    repushed = wait_for(
        lambda: seller("GET", path), lambda a: a["status"] == "awaiting_buyers", "the re-push's case.accepted"
    )
    second_qr = repushed["qr"]
    assert second_qr["url"] != first_qr["url"] and second_qr["case_number"] != first_qr["case_number"]
    assert [(c["label"], c["after"]) for c in repushed["pushes"][0]["changes"]] == [("申请人1联系电话", "13787654321")]
    assert httpx.get(second_qr["url"], timeout=30).status_code == 302
    assert httpx.get(first_qr["url"], timeout=30).status_code == 410

    cases = office("GET", "/api/notary/cases")["items"]
    assert sorted((c["application_version"], c["status"]) for c in cases)[0][0] == 1
    assert len(cases) == 2
