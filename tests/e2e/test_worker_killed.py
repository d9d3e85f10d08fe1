"""Issue 15 item 5: a Celery worker on Redis killed with SIGKILL mid-task loses no job and applies no effect twice.

A real Redis (Debian's redis-server on 127.0.0.1) and real worker processes share one deployment's data directory.
A notary approves; the certification job goes to Redis; the worker (prefork, as in production) that takes it is
killed with SIGKILL, with its pool process, while it renders and signs. Its message was never acknowledged
(``acks_late``: with early acknowledgement this test loses the job), so Redis hands it to the next worker once the
visibility timeout passes, and the case is certified exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import redis_server, redis_server_binary
from tests.servers import Deployment, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(redis_server_binary() is None and not os.environ.get("CI"), reason="redis-server missing"),
]

PREPARE = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
from ecancel.accounts.models import Role
from ecancel.notary.models import NotaryCase, PartyRole
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory
from tests.notary.helpers import filing_pdfs, push_body, send
from tests.notary.review_data import submitted_buyer, under_review
seller = DeveloperFactory().organisation
office = NotaryOfficeFactory()
UserFactory(username="kill_notary", organisation=office.organisation, role=Role.NOTARY, password=None)
files = filing_pdfs(seller)
body = push_body(seller=seller, office=office.organisation, files=files)
send(sender=seller, recipient=office.organisation, message_type="materials.pushed", body=body, attachments=files)
case = NotaryCase.objects.get(application_ref=body["application_ref"])
for party in case.parties.filter(role=PartyRole.BUYER):
    submitted_buyer(case, party.position)
print(under_review(case).pk)
"""

APPROVE = """
import os
from ecancel.accounts.models import User
from ecancel.core.context import RequestContext
from ecancel.notary.services.approval import case_approve
from ecancel.core import logs

logs._current_request_id.set("approve-request")  # as the notary's request to approve would have it
notary = User.objects.get(username="kill_notary")
case_approve(case_id=os.environ["KILLED_CASE"], actor=notary, ctx=RequestContext.system("test"))
"""

STATE = """
import os
from ecancel.audit.models import AuditEvent
from ecancel.exchange.models import OutboxMessage
from ecancel.notary.models import CaseArchive, NotaryCase
case = NotaryCase.objects.get(pk=os.environ["KILLED_CASE"])
print(
    case.status,
    OutboxMessage.objects.filter(message_type="certificate.issued").count(),
    CaseArchive.objects.filter(case=case).count(),
    AuditEvent.objects.filter(tag="notary.case.certified").count(),
    *AuditEvent.objects.filter(tag="notary.case.certified").values_list("request_id", flat=True),
)
"""

TAKEN = "Task ecancel.notary.certify_case["  # the worker's line on taking the job (not its list of tasks)


def shell(deployment: Deployment, script: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ecancel.manage", "shell", "--no-imports", "-c", script],
        env={**deployment.env(), **env},
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout.decode().strip()


def state(deployment: Deployment, case_id: str) -> str:
    """The case's status, certificate.issued messages, archives and audited certifications."""
    return shell(deployment, STATE, KILLED_CASE=case_id)


def worker(deployment: Deployment, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "ecancel.config.celery", "worker", "-l", "info"]
    command += ["--pool", "prefork", "--concurrency", "1"]
    with log.open("ab") as out:
        # A session of its own: SIGKILL reaches the worker and its pool process together, as a host failure would.
        return subprocess.Popen(
            command, env={**deployment.env(), **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@pytest.fixture
def broker() -> Iterator[str]:
    with redis_server() as url:
        yield url


def test_a_worker_killed_mid_certification_loses_no_job_and_certifies_once(broker: str, tmp_path: Path) -> None:
    deployment = Deployment("killed", "filing,notary", tmp_path)
    case_id = shell(deployment, PREPARE, ECANCEL_TASKS_EAGER="true")
    queued = {"ECANCEL_TASKS_EAGER": "false", "ECANCEL_BROKER_URL": broker, "ECANCEL_BROKER_VISIBILITY_TIMEOUT": "3"}
    log = tmp_path / "worker.log"

    first = worker(deployment, queued, log)
    try:
        shell(deployment, APPROVE, KILLED_CASE=case_id, **queued)
        wait_for(lambda: log.read_text(errors="replace"), lambda text: TAKEN in text, "the job taken")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    assert state(deployment, case_id) == "certifying 0 0 0", "killed mid-task: nothing of it was committed"

    second = worker(deployment, queued, log)
    try:
        settled = wait_for(
            lambda: state(deployment, case_id), lambda now: now.startswith("certified"), "the job again", seconds=180
        )
    finally:
        second.terminate()
        second.wait(timeout=60)
    # The job carried the approving request's ID through Redis: the worker's audit row leads back to it.
    assert settled == "certified 1 1 1 approve-request", log.read_text(errors="replace")[-3000:]
