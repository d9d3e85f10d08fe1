"""Two deployments over HTTP: no organisation reaches another's case by naming its reference.

The filing deployment hosts two developers (the owner of an application and an attacker), the notary
deployment two offices (the one the application was pushed to and a rogue one). Every organisation
signs with its own valid key. The attacker pushes, re-pushes and revokes under the owner's reference;
the rogue office, and the right office writing to the attacker, send every answer type about it. The
owner's application, its case, its QR link and its next version are untouched.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_two_deployments import Api, wait_for
from tests.servers import Deployment, introduce, serving

pytestmark = pytest.mark.slow

OWNER_ID = uuid.UUID("f0e1a000-0000-4000-8000-00000000f001")
ATTACKER_ID = uuid.UUID("f0e1a000-0000-4000-8000-00000000f002")
OFFICE_ID = uuid.UUID("f0e1a000-0000-4000-8000-00000000f003")
ROGUE_OFFICE_ID = uuid.UUID("f0e1a000-0000-4000-8000-00000000f004")
ANSWER_TYPES = (
    "case.accepted",
    "case.revoked",
    "revoke.refused",
    "case.refused",
    "buyer.submitted",
    "buyers.submitted",
)

ORGANISATIONS = f"""
from pathlib import Path
from django.conf import settings
from django.core.management import call_command
from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.documents.pki.backends import local_root
from tests.factories import DeveloperFactory, credit_code, mainland_id
call_command("migrate", verbosity=0)
sellers = [("{OWNER_ID}", "越权测试业主置业有限公司"), ("{ATTACKER_ID}", "越权测试攻击置业有限公司")]
for n, (pk, name) in enumerate(sellers):
    seller = Organisation.objects.create(id=pk, kind="developer", name=name, address="中山市东区测试路1号")
    DeveloperFactory(  # with the licence and ID pictures a push carries
        organisation=seller, credit_code=credit_code(7100 + n), legal_representative_id_number=mainland_id(7100 + n)
    )
offices = [("{OFFICE_ID}", "越权测试公证处"), ("{ROGUE_OFFICE_ID}", "越权测试另一公证处")]
for code, (pk, name) in enumerate(offices):
    office = Organisation.objects.create(id=pk, kind="notary_office", name=name, address="中山市石岐区公证路2号")
    NotaryOffice.objects.create(
        organisation=office, code=f"XR{{code}}", certificate_prefix="粤中中证字", case_prefix="中证受字"
    )
local_root(Path(settings.ECANCEL_KEYS_DIR))
"""

CONTRACT = f"""
from ecancel.accounts.models import Organisation
from tests.factories import contract_with_buyers
print(contract_with_buyers(2, seller=Organisation.objects.get(pk="{OWNER_ID}")).pk)
"""


def attacker_messages(reference: str) -> str:
    """The attacker's pushes (with PDFs it signed itself) and revoke, each committed and relayed on its own."""
    return f"""
from django.db import transaction
from django.utils import timezone
from ecancel.accounts.models import Organisation
from ecancel.exchange.services import outbox_put
from tests.messages import typed
from tests.notary.helpers import filing_pdfs, push_body
attacker = Organisation.objects.get(pk="{ATTACKER_ID}")
office = Organisation.objects.get(pk="{OFFICE_ID}")
rogue = Organisation.objects.get(pk="{ROGUE_OFFICE_ID}")
files = filing_pdfs(attacker)
pushes = [
    ("materials.pushed", office, dict(version=1)),
    ("materials.pushed", office, dict(version=2)),
    ("materials.pushed", office, dict(version=99)),
    ("materials.repushed", office, dict(version=2, changes=[])),
    ("materials.repushed", rogue, dict(version=3, changes=[])),
]
for message_type, to, options in pushes:
    body = push_body(seller=attacker, office=to, files=files, application_ref="{reference}", **options)
    with transaction.atomic():
        outbox_put(sender=attacker, recipient=to, body=typed(message_type, body), attachments=files)
for to in (office, rogue):
    with transaction.atomic():
        outbox_put(
            sender=attacker, recipient=to,
            body=typed("revoke.requested", {{"application_ref": "{reference}", "version": 1,
                       "requested_at": timezone.now().isoformat(), "requested_by": "攻击者"}}),
        )
"""


def office_answers(reference: str) -> str:
    """Every answer type about the owner's application: from the rogue office to both companies, and from the
    right office to the attacker."""
    return f"""
from django.db import transaction
from django.utils import timezone
from ecancel.accounts.models import Organisation
from ecancel.exchange.services import outbox_put
from ecancel.notary.models import NotaryCase
from tests.messages import typed
owner = Organisation.objects.get(pk="{OWNER_ID}")
attacker = Organisation.objects.get(pk="{ATTACKER_ID}")
office = Organisation.objects.get(pk="{OFFICE_ID}")
rogue = Organisation.objects.get(pk="{ROGUE_OFFICE_ID}")
case = NotaryCase.objects.get(application_ref="{reference}", application_version=1)
now = timezone.now().isoformat()
buyer = {{"position": 1, "name": "买受人", "verification": "face", "submitted_at": now}}
common = {{"application_ref": "{reference}", "version": 1, "case_ref": str(case.pk)}}
bodies = {{
    "case.accepted": {{"case_no": "(2026)伪造第0001号", "handoff_url": "http://127.0.0.1:9/h/forged",
                       "handoff_expires_at": now, "accepted_at": now}},
    "case.revoked": {{"case_no": case.case_number, "revoked_at": now}},
    "revoke.refused": {{"reason": "不同意撤销", "refused_at": now}},
    "case.refused": {{"case_no": case.case_number, "code": "refused", "reason": "不予办理", "refused_at": now}},
    "buyer.submitted": {{"case_no": case.case_number, "buyer": buyer}},
    "buyers.submitted": {{"case_no": case.case_number, "buyers": [buyer, {{**buyer, "position": 2}}],
                          "completed_at": now}},
}}
for sender, recipient in ((rogue, owner), (rogue, attacker), (office, attacker)):
    for message_type, extra in bodies.items():
        with transaction.atomic():
            outbox_put(sender=sender, recipient=recipient, body=typed(message_type, {{**common, **extra}}))
"""


def inbox(deployment: Deployment) -> list[dict[str, str]]:
    """What the deployment received: type, status and (as UUIDs) sender and recipient."""
    with sqlite3.connect(f"file:{deployment.data_dir / 'ecancel.sqlite3'}?mode=ro", uri=True) as connection:
        found = connection.execute(
            "SELECT message_type, status, sender_id, recipient_id FROM exchange_inboxmessage"
        ).fetchall()
    return [
        {"type": t, "status": s, "sender": str(uuid.UUID(sender)), "recipient": str(uuid.UUID(recipient))}
        for t, s, sender, recipient in found
    ]


def foreign_push_refusals(deployment: Deployment) -> int:
    with sqlite3.connect(f"file:{deployment.data_dir / 'ecancel.sqlite3'}?mode=ro", uri=True) as connection:
        [(count,)] = connection.execute(
            "SELECT COUNT(*) FROM audit_auditevent WHERE tag = 'notary.intake.refused'"
            " AND json_extract(data, '$.code') = 'foreign_application'"
        ).fetchall()
    return int(count)


def cases(deployment: Deployment) -> list[tuple[str, int, str]]:
    with sqlite3.connect(f"file:{deployment.data_dir / 'ecancel.sqlite3'}?mode=ro", uri=True) as connection:
        found = connection.execute(
            "SELECT application_ref, application_version, status FROM notary_notarycase ORDER BY received_at"
        ).fetchall()
    return [(str(uuid.UUID(ref)), version, status) for ref, version, status in found]


@pytest.fixture
def deployments(tmp_path: Path) -> Iterator[tuple[Deployment, Deployment, str]]:
    filing = Deployment("filing", "filing", tmp_path)
    notary = Deployment("notary", "notary", tmp_path)
    for deployment in (filing, notary):
        deployment.manage("shell", "--no-imports", "-c", ORGANISATIONS)
    introduce(tmp_path, filing, notary)
    filing.trusted_roots.append(notary.root_certificate)
    notary.trusted_roots.append(filing.root_certificate)
    contract_id = filing.manage("shell", "--no-imports", "-c", CONTRACT).strip()
    with serving(filing, notary):
        yield filing, notary, contract_id


def test_foreign_references_change_nothing_across_deployments(
    deployments: tuple[Deployment, Deployment, str],
) -> None:
    filing, notary, contract_id = deployments
    owner = Api(filing, filing.manage("api_token", "create", "--organisation", str(OWNER_ID), "--name", "ERP").strip())
    created = owner("POST", "/api/filing/applications", {"contract_id": contract_id}, expect=201)
    reference, path = created["id"], f"/api/filing/applications/{created['id']}"
    owner("PUT", f"{path}/reason", {"reason": "loan_refused"})
    owner("POST", f"{path}/push", {"version": 1, "notary_office_id": str(OFFICE_ID)})
    accepted = wait_for(lambda: owner("GET", path), lambda a: a["status"] == "awaiting_buyers", "case.accepted")
    link = accepted["qr"]["url"]
    assert httpx.get(link, timeout=30).status_code == 302

    filing.manage("shell", "--no-imports", "-c", attacker_messages(reference))
    notary.manage("shell", "--no-imports", "-c", office_answers(reference))

    # Everything but the owner's own office writing to the owner: the refusals of the attacker's seven
    # messages, then the forged answers. Each arrived and was rejected.
    expected = 7 + 3 * len(ANSWER_TYPES)
    foreign = wait_for(
        lambda: [m for m in inbox(filing) if (m["sender"], m["recipient"]) != (str(OFFICE_ID), str(OWNER_ID))],
        lambda found: len(found) >= expected,
        "every answer to arrive",
    )
    assert len(foreign) == expected and {m["status"] for m in foreign} == {"rejected"}, foreign
    # The notary side took the attacker's messages, refused each back (audited) and opened nothing.
    attacks = [m for m in inbox(notary) if m["sender"] == str(ATTACKER_ID)]
    assert len(attacks) == 7 and {m["status"] for m in attacks} == {"applied"}
    assert foreign_push_refusals(notary) == 5
    assert cases(notary) == [(reference, 1, "awaiting_buyers")]

    # The owner's application and QR link are as they were.
    application = owner("GET", path)
    assert (application["status"], application["version"], application["qr"]["url"]) == ("awaiting_buyers", 1, link)
    assert all(not a.get("submitted_at") for a in application["applicants_detail"])
    assert httpx.get(link, timeout=30).status_code == 302

    # The owner carries on: revoke, then version 2 gets its own case and a new working link.
    owner("POST", f"{path}/revoke", {"version": 1, "reason": "电话有误"})
    revoked = wait_for(lambda: owner("GET", path), lambda a: a["status"] == "draft", "case.revoked")
    assert revoked["version"] == 2 and httpx.get(link, timeout=30).status_code == 410
    owner("POST", f"{path}/push", {"version": 2})
    repushed = wait_for(lambda: owner("GET", path), lambda a: a["status"] == "awaiting_buyers", "case.accepted v2")
    assert repushed["qr"]["url"] != link and httpx.get(repushed["qr"]["url"], timeout=30).status_code == 302
    assert [(v, s) for _ref, v, s in cases(notary)] == [(1, "revoked"), (2, "awaiting_buyers")]
