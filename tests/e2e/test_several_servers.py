"""Issue 15 item 7: nothing a request leaves for the next one lives in one process's memory.

One deployment hosting both sides runs as two gunicorn servers, each with a data directory of its own, sharing
what a deployment of several app servers shares: one PostgreSQL database, one Redis (jobs and rate limits), the
keys directory and the file storage (a folder both mount), the secret key and the public address. Two Celery
workers, one per host, take the jobs. The whole case runs through a balancer that sends every request of a
client to the other server than its last one: the seller's API calls, the buyers' phones (QR hand-off,
session, CSRF, uploads, signature), the notary's login with its second factor and review, the certificate and
the cancelled filing. Failed logins counted on one server lock the account on the other.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecancel.selftest.drive import Browser, Pace, SelfTest
from ecancel.selftest.provision import Credentials
from tests import postgres_server
from tests.e2e.test_selftest import STEPS
from tests.redis_server import redis_server, redis_server_binary
from tests.servers import Deployment, RoundRobin, celery_worker, free_port, serving, stop_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(redis_server_binary() is None and not os.environ.get("CI"), reason="redis-server missing"),
    pytest.mark.skipif(
        not glob.glob("/usr/lib/postgresql/*/bin/initdb") and not os.environ.get("CI"), reason="PostgreSQL missing"
    ),
]

PREPARE = """
import glob
import json
from dataclasses import asdict
from django.core.management import call_command
from django.utils import timezone
from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.core.context import RequestContext
from ecancel.selftest.provision import provision
call_command("migrate", verbosity=0)
office = Organisation.objects.create(kind="notary_office", name="多服务器公证处", address="中山市石岐区公证路2号")
office = NotaryOffice.objects.create(
    organisation=office, code="MS01", certificate_prefix="粤中中证字", case_prefix="中证受字"
)
provisioned = provision(office=office, now=timezone.now(), ctx=RequestContext.system(via="test"))
print(json.dumps(asdict(provisioned.credentials())))
"""


@dataclass
class Cluster:
    public_url: str
    servers: list[Deployment]
    workers: list[Path]
    credentials: Credentials
    served: Counter[str]

    def balancer(self) -> RoundRobin:
        """A new client's connection: its requests alternate between the servers (the count is shared)."""
        return RoundRobin({self.public_url: [server.url for server in self.servers]}, self.served)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in [*(server.root / f"{server.name}.log" for server in self.servers), *self.workers]
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("several-servers")
    shared_files = root / "shared-files"
    shared_files.mkdir()
    public_url = f"http://127.0.0.1:{free_port()}"  # the balancer's address: no server listens there
    with redis_server() as redis_url:
        shared = {
            "ECANCEL_DATABASE_URL": postgres_server.start(),
            "ECANCEL_BROKER_URL": redis_url,
            "ECANCEL_TASKS_EAGER": "false",
            "ECANCEL_KEYS_DIR": str(root / "shared-keys"),
            "ECANCEL_SECRET_KEY": secrets.token_urlsafe(50),
            "ECANCEL_PUBLIC_URL": public_url,
            "ECANCEL_APP_SERVERS": "2",
        }
        hosts = [
            Deployment(name, "filing,notary", root, settings=shared, gunicorn=name.startswith("web"))
            for name in ("web1", "web2", "jobs1", "jobs2")
        ]
        for host in hosts:
            host.data_dir.mkdir()
            (host.data_dir / "files").symlink_to(shared_files)  # one storage every host mounts
        credentials = Credentials.from_json(json.loads(hosts[0].manage("shell", "--no-imports", "-c", PREPARE)))
        servers, jobs = hosts[:2], hosts[2:]
        worker_logs = [root / f"{host.name}.log" for host in jobs]
        workers = [celery_worker(host, log) for host, log in zip(jobs, worker_logs, strict=True)]
        try:
            with serving(*servers):
                yield Cluster(public_url, servers, worker_logs, credentials, Counter())
        finally:
            for worker in workers:
                stop_worker(worker)


def test_a_whole_case_holds_with_every_request_on_the_other_server(cluster: Cluster, tmp_path: Path) -> None:
    summary = SelfTest(
        url=cluster.public_url,
        credentials=cluster.credentials,
        out=tmp_path,
        pace=Pace(poll_seconds=0.3, limit_seconds=180),
        transport=cluster.balancer,
    ).run()

    assert summary.ok, (summary, cluster.logs())
    assert [step.name for step in summary.steps] == STEPS
    assert summary.steps[-2].state == "application=cancelled contract=cancelled unit=available"
    assert summary.verification["valid"] and summary.verification["signed_by"] == "多服务器公证处"
    assert Path(summary.certificate_file).read_bytes().startswith(b"%PDF")
    # Both servers answered half the case, and both workers did part of its jobs.
    counts = [cluster.served[server.url] for server in cluster.servers]
    assert min(counts) >= 40 and abs(counts[0] - counts[1]) <= 8, counts
    for log in cluster.workers:
        assert "succeeded in" in log.read_text(errors="replace"), cluster.logs()


def test_failed_logins_on_either_server_lock_the_name_on_both(cluster: Cluster) -> None:
    office = Browser(cluster.public_url, transport=cluster.balancer())
    try:
        username = f"nobody-{secrets.token_hex(4)}"
        answers = []
        for _attempt in range(6):
            office.page("/login/")
            answer = office.client.post(
                "/login/",
                data={"csrfmiddlewaretoken": office.client.cookies["csrftoken"], "username": username, "password": "x"},
                headers={"Referer": f"{cluster.public_url}/login/"},
            )
            answers.append((answer.status_code, "已暂停登录" in answer.text))
    finally:
        office.close()

    # Five failures, counted wherever they happened, lock the name; the sixth try is refused before any password.
    assert [locked for _status, locked in answers] == [False] * 4 + [True] * 2, answers
    assert all(status != 500 for status, _locked in answers), answers
