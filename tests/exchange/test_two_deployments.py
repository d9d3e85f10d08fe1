"""Two deployments, each with its own database, keys and server on 127.0.0.1, talking over HTTP.

The filing deployment sends ``revoke.requested`` for an application the notary office never
received; the notary deployment answers ``revoke.refused``. Both messages cross by HTTP, signed
with keys exchanged through ``exchange_identity`` / ``exchange_peer import``.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Deployment, introduce, serving, wait_for

pytestmark = pytest.mark.slow

DEVELOPER_ID = uuid.UUID("0b7d7f1e-1f38-4a55-9b9a-5c2f0a6b7c01")
NOTARY_ID = uuid.UUID("0b7d7f1e-1f38-4a55-9b9a-5c2f0a6b7c02")

SET_UP = f"""
from django.core.management import call_command
from ecancel.accounts.models import Organisation
call_command("migrate", verbosity=0)
Organisation.objects.create(id="{DEVELOPER_ID}", kind="developer", name="双部署测试置业有限公司")
Organisation.objects.create(id="{NOTARY_ID}", kind="notary_office", name="双部署测试公证处")
"""


def rows(deployment: Deployment, table: str) -> list[dict[str, object]]:
    database = deployment.data_dir / "ecancel.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(
            f"SELECT id, message_type, status, remote_status, last_error FROM exchange_{table}"  # noqa: S608
            if table == "outboxmessage"
            else f"SELECT id, message_type, status, reason FROM exchange_{table}"  # noqa: S608
        ).fetchall()
    return [dict(row) for row in found]


@pytest.fixture
def deployments(tmp_path: Path) -> Iterator[tuple[Deployment, Deployment]]:
    filing = Deployment("filing", "filing", tmp_path)
    notary = Deployment("notary", "notary", tmp_path)
    for deployment in (filing, notary):
        deployment.manage("shell", "--no-imports", "-c", SET_UP)
    introduce(tmp_path, filing, notary)
    # Each deployment speaks only for its own organisations.
    identities = {d.name: json.loads((tmp_path / f"{d.name}.json").read_text()) for d in (filing, notary)}
    assert [o["id"] for o in identities["filing"]["organisations"]] == [str(DEVELOPER_ID)]
    assert [o["id"] for o in identities["notary"]["organisations"]] == [str(NOTARY_ID)]
    with serving(filing, notary):
        yield filing, notary


def test_revoke_and_its_answer_cross_between_two_deployments(deployments: tuple[Deployment, Deployment]) -> None:
    filing, notary = deployments
    application_ref = uuid.uuid4()
    filing.manage(
        "shell",
        "-c",
        f"""
from django.db import transaction
from ecancel.accounts.models import Organisation
from ecancel.exchange.services import outbox_put
from tests.messages import typed
with transaction.atomic():
    outbox_put(
        sender=Organisation.objects.get(pk="{DEVELOPER_ID}"),
        recipient=Organisation.objects.get(pk="{NOTARY_ID}"),
        body=typed("revoke.requested", {{"application_ref": "{application_ref}", "version": 1,
                   "reason": "买受人姓名有误", "requested_at": "2026-11-24T05:00:00Z", "requested_by": "陈经办"}}),
    )
""",
    )
    wait_for(lambda: rows(filing, "inboxmessage"), lambda received: len(received) >= 1, "revoke.refused")

    [sent] = rows(filing, "outboxmessage")
    assert (sent["message_type"], sent["status"], sent["remote_status"]) == ("revoke.requested", "delivered", "applied")
    [received] = rows(notary, "inboxmessage")
    assert (received["id"], received["status"]) == (sent["id"], "applied")
    [answer] = rows(notary, "outboxmessage")
    assert (answer["message_type"], answer["status"]) == ("revoke.refused", "delivered")
    [answered] = rows(filing, "inboxmessage")
    assert (answered["id"], answered["message_type"]) == (answer["id"], "revoke.refused")
    assert answered["status"] in {"applied", "rejected"}, "stored once; the filing side's own rules decide the rest"
