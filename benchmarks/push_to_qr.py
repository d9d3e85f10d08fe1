"""Push → QR latency on the one-machine default (issue 4 item 14; target ≤1 s median).

    uv run python benchmarks/push_to_qr.py [--pushes 20] [--mode worker|redis|eager|both|all]

One deployment hosts both sides, as ``ecancel up`` runs it: SQLite (WAL, synchronous=FULL), gunicorn
with two workers, the in-process transport. Each push is made through the API with the developer's
token; the clock stops when ``GET /api/filing/applications/<id>`` first shows the QR code (polled
every 20 ms). In between: two filing documents rendered and signed (B-T with a timestamp), the
contract locked, ``materials.pushed`` relayed, the notary office's intake (PDFs verified, case
number, three notary documents rendered and signed, hand-off token), ``case.accepted`` relayed back.

Modes: ``worker`` — the relay runs in a Celery worker fed by the SQLite broker, as by default;
``redis`` — the same worker fed by a Redis broker (a throw-away ``redis-server`` on 127.0.0.1, as production runs);
``eager`` — the relay runs in the web process when the push commits (``ECANCEL_TASKS_EAGER``). ``both`` is worker
and eager, ``all`` the three.
Also printed: the same span measured on the server from the audit log (pushed → accepted events).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from measure import free_port, percentile, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

SEED = """
import json
from django.core.management import call_command
from ecancel.accounts.models import Organisation
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext
from tests.factories import DeveloperFactory, NotaryOfficeFactory, contract_with_buyers
call_command("migrate", verbosity=0)
seller = DeveloperFactory().organisation
office = NotaryOfficeFactory().organisation
contracts = [str(contract_with_buyers(2, seller=seller).pk) for _ in range({count})]
_, token = api_token_create(organisation=seller, name="benchmark", actor=None, ctx=RequestContext.system())
print(json.dumps({{"token": token, "office": str(office.pk), "contracts": contracts}}))
"""

SPANS = """
import json
from ecancel.audit.models import AuditEvent
pushed = {e.object_id: e.occurred_at for e in AuditEvent.objects.filter(tag="cancellation.application.pushed")}
accepted = {e.object_id: e.occurred_at for e in AuditEvent.objects.filter(tag="cancellation.application.accepted")}
print(json.dumps([(accepted[k] - pushed[k]).total_seconds() for k in pushed if k in accepted]))
"""


class Deployment:
    """A throw-away one-machine deployment: its own data directory, web server and (maybe) worker."""

    def __init__(self, mode: str, pushes: int, broker_url: str = "") -> None:
        self.mode = mode
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix=f"ecancel-bench-push-{mode}-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE="ecancel.config.settings",
            ECANCEL_DATA_DIR=str(self.data),
            ECANCEL_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
            ECANCEL_TASKS_EAGER="true" if mode == "eager" else "false",
            ECANCEL_LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        )
        if broker_url:
            self.env["ECANCEL_BROKER_URL"] = broker_url
        self.children: list[subprocess.Popen[bytes]] = []
        self.seed = json.loads(self.manage("shell", "--no-imports", "-c", SEED.format(count=pushes + 1)))

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "ecancel"), *args], env=self.env, cwd=ROOT, capture_output=True, timeout=600, check=False
        )
        if done.returncode:
            raise SystemExit(done.stderr.decode()[-3000:])
        return done.stdout.decode()

    def spawn(self, argv: list[str]) -> None:
        log = (self.data / f"{Path(argv[0]).name}.log").open("wb")
        self.children.append(
            subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )

    def start(self) -> None:
        self.spawn(
            [str(BIN / "gunicorn"), "ecancel.config.wsgi:application", f"--bind=127.0.0.1:{self.port}", "--workers=2"]
        )
        if self.mode in ("worker", "redis"):
            celery = [str(BIN / "celery"), "-A", "ecancel.config", "worker", "--concurrency=2", "--loglevel=warning"]
            self.spawn([*celery, "--without-gossip", "--without-mingle"])
        wait_until_healthy(self.port, seconds=60)

    def stop(self) -> None:
        for child in self.children:
            os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # A worker still finishing a relay on a loaded machine: its figures are already taken.
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=30)


def push_and_wait(client: httpx.Client, contract_id: str, office_id: str) -> float:
    created = client.post("/api/filing/applications", json={"contract_id": contract_id})
    created.raise_for_status()
    path = f"/api/filing/applications/{created.json()['id']}"
    client.put(f"{path}/reason", json={"reason": "mutual_agreement"}).raise_for_status()
    started = time.perf_counter()
    client.post(f"{path}/push", json={"version": 1, "notary_office_id": office_id}).raise_for_status()
    deadline = started + 60
    while time.perf_counter() < deadline:
        shown: dict[str, Any] = client.get(path).json()
        if shown.get("qr"):
            return time.perf_counter() - started
        if shown["status"] not in ("pushed", "awaiting_buyers"):
            raise SystemExit(f"push ended as {shown['status']}: {shown.get('notary_message')}")
        time.sleep(0.02)
    raise SystemExit("no QR code within 60 s")


def run(mode: str, pushes: int) -> dict[str, Any]:
    with ExitStack() as stack:
        broker_url = ""
        if mode == "redis":
            from tests.redis_server import redis_server

            broker_url = stack.enter_context(redis_server())
        return _run(Deployment(mode, pushes, broker_url))


def _run(deployment: Deployment) -> dict[str, Any]:
    deployment.start()
    try:
        seed = deployment.seed
        headers = {"Authorization": f"Bearer {seed['token']}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{deployment.port}", headers=headers, timeout=120) as client:
            push_and_wait(client, seed["contracts"][0], seed["office"])  # warm-up: keys, CA, fonts, compilers
            latencies = [push_and_wait(client, c, seed["office"]) for c in seed["contracts"][1:]]
        server = json.loads(deployment.manage("shell", "--no-imports", "-c", SPANS))[1:]
    finally:
        deployment.stop()
    return {"mode": deployment.mode, "client": latencies, "server": server}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--mode", choices=["worker", "redis", "eager", "both", "all"], default="both")
    args = parser.parse_args()
    modes = {"both": ["worker", "eager"], "all": ["worker", "redis", "eager"]}.get(args.mode, [args.mode])
    results = [run(mode, args.pushes) for mode in modes]
    load = os.getloadavg()[0]
    when = f"{datetime.now():%Y-%m-%d %H:%M}"
    print(f"push → QR shown, one-machine default, {args.pushes} pushes each ({when}, load {load:.1f})")
    print(f"{'mode':<28}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}")
    for result in results:
        for label, values in (("client", result["client"]), ("server (audit)", result["server"])):
            name = f"{result['mode']}, {label}"
            median, p95 = statistics.median(values), percentile(values, 0.95)
            print(f"{name:<28}{median:>8.3f}s{p95:>8.3f}s{min(values):>8.3f}s{max(values):>8.3f}s")


if __name__ == "__main__":
    main()
