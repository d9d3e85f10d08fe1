"""Issue 15 item 7(b): the whole case with the filing side and the notary side as two deployments.

Each deployment has its own data directory, database, keys and CA, and they talk only over HTTP (as in
test_two_deployments, which stops at a revoked push). The seller's system drives the filing deployment's API;
the buyers' phones open the QR link and go through the notary deployment's pages with real identity checks; a
notary logs in there with the second factor and approves; the signed certificate crosses back, the filing is
cancelled and the unit is for sale again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecancel.demo.seed import organisation_id
from ecancel.selftest.drive import Pace, SelfTest
from ecancel.selftest.provision import SELLER, Credentials
from tests.servers import Deployment, serving

pytestmark = pytest.mark.slow

OFFICE_ID = uuid.UUID("5e11e4a0-0000-4000-8000-00000000e2f2")
OFFICE_NAME = "双部署全流程公证处"

# What both deployments know, with the same ids: the office and the self-test's seller.
ORGANISATIONS = f"""
from pathlib import Path
from django.conf import settings
from django.core.management import call_command
from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.documents.pki.backends import local_root
call_command("migrate", verbosity=0)
office = Organisation.objects.create(
    id="{OFFICE_ID}", kind="notary_office", name="{OFFICE_NAME}", address="中山市石岐区公证路2号"
)
NotaryOffice.objects.create(organisation=office, code="E2F01", certificate_prefix="粤中中证字", case_prefix="中证受字")
Organisation.objects.create(
    id="{organisation_id(SELLER.name)}", kind="developer", name="{SELLER.name}", address="{SELLER.address}"
)
local_root(Path(settings.ECANCEL_KEYS_DIR))  # this deployment's CA: the other one is told to trust its root
"""

# The filing side's half of what the drive needs: a filed contract of the specimen buyers, the seller's token.
SELLER_HALF = """
import json
from django.utils import timezone
from ecancel.core.context import RequestContext
from ecancel.selftest.provision import provision_seller
run = provision_seller(now=timezone.now(), ctx=RequestContext.system(via="test"))
contract = run.contract
print(json.dumps({"contract_id": str(contract.pk), "contract_no": contract.contract_no, "seller_token": run.token}))
"""

# The notary side's half: a 公证员 with a password and an authenticator.
NOTARY_HALF = f"""
import json
from dataclasses import asdict
from ecancel.accounts.models import NotaryOffice
from ecancel.core.context import RequestContext
from ecancel.selftest.provision import Authenticator, provision_notary
office = NotaryOffice.objects.get(organisation_id="{OFFICE_ID}")
run = provision_notary(office=office, ctx=RequestContext.system(via="test"))
print(json.dumps({{
    "notary_username": run.user.username,
    "notary_password": run.password,
    "notary_authenticator": asdict(Authenticator.of(run.device)),
}}))
"""


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, Deployment, Credentials]]:
    root = tmp_path_factory.mktemp("whole-flow-two-deployments")
    filing = Deployment("filing", "filing", root)
    notary = Deployment("notary", "notary", root)
    halves = {}
    for deployment, half in ((filing, SELLER_HALF), (notary, NOTARY_HALF)):
        halves.update(json.loads(deployment.manage("shell", "--no-imports", "-c", ORGANISATIONS + half)))
        (root / f"{deployment.name}.json").write_text(deployment.manage("exchange_identity"))
    for here, there in ((filing, notary), (notary, filing)):
        here.manage("exchange_peer", "import", str(root / f"{there.name}.json"))
        here.trusted_roots.append(there.root_certificate)
    credentials = Credentials.from_json({"office_id": str(OFFICE_ID), "office_name": OFFICE_NAME, **halves})
    with serving(filing, notary):
        yield filing, notary, credentials


def test_the_whole_case_crosses_between_two_deployments_over_http(
    deployments: tuple[Deployment, Deployment, Credentials], tmp_path: Path
) -> None:
    filing, notary, credentials = deployments

    summary = SelfTest(
        url=filing.url,
        notary_url=notary.url,
        credentials=credentials,
        out=tmp_path,
        pace=Pace(poll_seconds=0.3, limit_seconds=180),
    ).run()

    assert summary.ok, (summary, filing.tail(), notary.tail())
    assert summary.steps[-2].state == "application=cancelled contract=cancelled unit=available"
    assert summary.verification["valid"] and summary.verification["signed_by"] == OFFICE_NAME
    # The certificate the filing side received is the notary side's, and the filing side verifies its signature.
    certificate = Path(summary.certificate_file)
    filing.manage("verify_pdf", str(certificate))
