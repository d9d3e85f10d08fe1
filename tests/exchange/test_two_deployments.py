"""Two deployments, each with its own database, keys and server on 127.0.0.1, talking over HTTP.

The filing deployment sends ``revoke.requested`` for an application the notary office never
received; the notary deployment answers ``revoke.refused``. Both messages cross by HTTP, signed
with keys exchanged through ``exchange_identity`` / ``exchange_peer import``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pytest

pytestmark = pytest.mark.slow

DEVELOPER_ID = uuid.UUID("0b7d7f1e-1f38-4a55-9b9a-5c2f0a6b7c01")
NOTARY_ID = uuid.UUID("0b7d7f1e-1f38-4a55-9b9a-5c2f0a6b7c02")

SET_UP = f"""
import sys
from django.core.management import call_command
from ecancel.accounts.models import Organisation
call_command("migrate", verbosity=0)
Organisation.objects.create(id="{DEVELOPER_ID}", kind="developer", name="双部署测试置业有限公司")
Organisation.objects.create(id="{NOTARY_ID}", kind="notary_office", name="双部署测试公证处")
call_command("exchange_identity", stdout=sys.stdout)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    name: str
    sides: str
    root: Path
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    log: BinaryIO | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="ecancel.config.settings",
            ECANCEL_DATA_DIR=str(self.root / self.name),
            ECANCEL_HOSTED_SIDES=self.sides,
            ECANCEL_PUBLIC_URL=self.url,
            ECANCEL_TASKS_EAGER="true",
            ECANCEL_LOG_LEVEL="WARNING",
        )
        return env

    def manage(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ecancel.manage", *args],
            env=self.env(),
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        return done.stdout.decode()

    def start(self) -> None:
        self.log = (self.root / f"{self.name}.log").open("wb")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "ecancel.manage", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            env=self.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:  # noqa: S310 - 127.0.0.1
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError((self.root / f"{self.name}.log").read_text()[-3000:])

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=20)
        if self.log is not None:
            self.log.close()

    def rows(self, table: str) -> list[dict[str, object]]:
        database = self.root / self.name / "ecancel.sqlite3"
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
    identities = {}
    for deployment in (filing, notary):
        identities[deployment.name] = json.loads(deployment.manage("shell", "--no-imports", "-c", SET_UP))
        (tmp_path / f"{deployment.name}.json").write_text(json.dumps(identities[deployment.name]))
    # Each deployment speaks only for its own organisations.
    assert [o["id"] for o in identities["filing"]["organisations"]] == [str(DEVELOPER_ID)]
    assert [o["id"] for o in identities["notary"]["organisations"]] == [str(NOTARY_ID)]
    for here, there in ((filing, notary), (notary, filing)):
        here.manage("exchange_peer", "import", str(tmp_path / f"{there.name}.json"))
    try:
        filing.start()
        notary.start()
        yield filing, notary
    finally:
        filing.stop()
        notary.stop()


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
with transaction.atomic():
    outbox_put(
        sender=Organisation.objects.get(pk="{DEVELOPER_ID}"),
        recipient=Organisation.objects.get(pk="{NOTARY_ID}"),
        message_type="revoke.requested",
        body={{"application_ref": "{application_ref}", "version": 1, "reason": "买受人姓名有误",
               "requested_at": "2026-11-24T05:00:00Z", "requested_by": "陈经办"}},
    )
""",
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(filing.rows("inboxmessage")) < 1:
        time.sleep(0.2)

    [sent] = filing.rows("outboxmessage")
    assert (sent["message_type"], sent["status"], sent["remote_status"]) == ("revoke.requested", "delivered", "applied")
    [received] = notary.rows("inboxmessage")
    assert (received["id"], received["status"]) == (sent["id"], "applied")
    [answer] = notary.rows("outboxmessage")
    assert (answer["message_type"], answer["status"]) == ("revoke.refused", "delivered")
    [answered] = filing.rows("inboxmessage")
    assert (answered["id"], answered["message_type"]) == (answer["id"], "revoke.refused")
    assert answered["status"] in {"applied", "rejected"}, "stored once; the filing side's own rules decide the rest"
