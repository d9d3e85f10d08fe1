"""Throughput of the busiest read endpoints against a bare Django + django-ninja endpoint (issue 15 item 12; targets:
p99 ≤ 50 ms at 16 connections, every endpoint ≥ 40 % of the bare endpoint's requests per second).

    uv run python benchmarks/throughput.py [--rounds 3] [--seconds 10] [--against DIR] [--workers 2 --threads 8]
        [--only contracts cases]

A throw-away PostgreSQL server on 127.0.0.1 (as ``tests/postgres_server.py`` starts it), a Redis server per
deployment as in production (the rate limiter's store and the kept answers of ``core.answers``; ``--no-answer-cache``
builds every answer), and gunicorn on 127.0.0.1 sized for the two cores: 6 processes of one thread each (gthread,
which keeps connections alive). Threads of one
process take turns on its interpreter lock: 2 × 8 threads cost these endpoints 15–40 % more CPU per request and gave
lower throughput (docs/benchmarks.md). The settings are the product's with one URL added
(``benchmarks/http_settings.py``, ``benchmarks/http_urls.py``): ``GET /bare/ping``, a django-ninja endpoint that does
nothing, behind the same middleware as everything else. The seed: a developer with 40 filed contracts (two buyers
each) and an API token, a notary office with an API token, 5 applications pushed to it through the API (documents
signed, the intake relayed in-process), and 16 buyers' phones on their own hand-off QR codes, each past its consents
and waiting at the face step. Measured with Debian's ``wrk`` (``apt-get install wrk``), one endpoint after the other,
each warmed for 2 s:

- ``bare``: ``GET /bare/ping``;
- ``healthz``: ``GET /healthz`` (the liveness probe);
- ``contracts``: ``GET /api/filing/contracts`` with the operator's token (page of 20 of the 40);
- ``application``: ``GET /api/filing/applications/<id>`` with the operator's token (a pushed one, QR shown);
- ``cases``: ``GET /api/notary/cases`` with the notary office's token (page of 20 of 21);
- ``buyer_status``: ``GET /b/poll/face/``, what a buyer's phone polls while a check runs, each request with
  one of the 16 phones' cookies in turn.

For each: requests per second and p99 latency at 16 connections (``--seconds``), the median latency of one
connection alone (3 s), and the ratio of its requests per second to the bare endpoint's in the same round. Beside
them, the CPU time one request costs at 16 connections (``cpu_ms``: user + system time of the gunicorn processes
and of the PostgreSQL backends serving this deployment's database, from ``/proc``, over the requests served), and
the bare endpoint's ``cpu_ms`` over it (``cpu_ratio_to_bare``): on two cores shared with other jobs, requests per
second move with the neighbours' load, while the CPU a request costs barely does, so this says where a change
stands when the throughput figures are noisy.
``--workers``/``--threads`` size gunicorn otherwise and ``--only`` measures some endpoints (and the bare one);
``--rounds`` repeats the whole list; the JSON printed at the end holds the medians over the rounds. ``--against DIR``
also measures another source tree (e.g. ``git archive`` of an earlier commit unpacked in DIR) on its own database
of the same cluster, alternating with this one endpoint by endpoint, so the two are compared under the same load.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from measure import ecancel_shell, free_port, wait_until_healthy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
CONNECTIONS = 16
WARM_UP_S = 2
ALONE_S = 3
WORKERS, THREADS = 6, 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SEED = """
import json
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
from tests.buyers.journey import PHONE_UA, case_for_buyers, qr
from tests.factories import DeveloperFactory, NotaryOfficeFactory, contract_with_buyers
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext

ctx = RequestContext.system()
seller = DeveloperFactory().organisation
office = NotaryOfficeFactory(handoff_days=7)
contracts = [contract_with_buyers(2, seller=seller) for _ in range(40)]
_, operator_token = api_token_create(organisation=seller, name="benchmark", actor=None, ctx=ctx)
_, notary_token = api_token_create(organisation=office.organisation, name="benchmark", actor=None, ctx=ctx)
api = Client(headers={"authorization": "Bearer " + operator_token})


def call(method, url, data=None):
    answer = getattr(api, method)(url, data or {}, content_type="application/json")
    if answer.status_code not in (200, 201):
        raise SystemExit(f"{method.upper()} {url}: {answer.status_code} {answer.content[:300]!r}")
    return answer.json()


applications = []
for contract in contracts[:5]:
    created = call("post", "/api/filing/applications", {"contract_id": str(contract.pk)})
    path = "/api/filing/applications/" + created["id"]
    version = call("put", path + "/reason", {"reason": "mutual_agreement"})["version"]
    pushed = call("post", path + "/push", {"version": version, "notary_office_id": str(office.organisation.pk)})
    if pushed["qr"] is None:
        raise SystemExit("a pushed application was not accepted: is ECANCEL_TASKS_EAGER set?")
    applications.append(pushed["id"])
phones = []
for _ in range(16):
    phone = Client(headers={"user-agent": PHONE_UA})
    phone.get("/h/" + qr(case_for_buyers(office, buyers=1)).raw)
    phone.post("/b/choose/", {"buyer": 1})
    phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
    names = (settings.ECANCEL_BUYER_SESSION_COOKIE, settings.ECANCEL_BUYER_DEVICE_COOKIE)
    phones.append("; ".join(f"{name}={phone.cookies[name].value}" for name in names))
print(json.dumps({
    "operator_token": operator_token, "notary_token": notary_token, "application": applications[0], "phones": phones,
}))
"""

LUA = """
local header_sets = {%(header_sets)s}
local sent = 0
request = function()
  sent = sent + 1
  return wrk.format("GET", "%(path)s", header_sets[(sent %% #header_sets) + 1])
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "failed": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.status + errors.timeout))
end
"""


def lua_headers(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f'["{name}"] = [[{value}]]' for name, value in headers.items()) + "}"


class Deployment:
    """One source tree: its own database in the shared cluster, seeded, and gunicorn serving it."""

    def __init__(
        self, label: str, source: Path, cluster_url: str, workers: int, threads: int, *, answer_cache: bool
    ) -> None:
        self.label, self.source = label, source
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix=f"ecancel-bench-http-{label}-"))
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            [
                *(str(shutil.which("redis-server")), "--bind", "127.0.0.1", "--port", str(self.redis_port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.data)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        database = self.database = f"bench_{label}"
        import psycopg

        with psycopg.connect(cluster_url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {database}")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE="benchmarks.http_settings",
            ECANCEL_DATA_DIR=str(self.data),
            ECANCEL_DATABASE_URL=cluster_url.rsplit("/", 1)[0] + "/" + database,
            ECANCEL_DEMO="false",
            ECANCEL_TASKS_EAGER="true",
            # As in production (a ring on local disk is refused there): the ring comes from the secret store.
            ECANCEL_KEY_RING=json.dumps({"keys": [base64.b64encode(os.urandom(32)).decode()]}),
            ECANCEL_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
            # As in production: the shared Redis of the rate limiter and the kept answers.
            ECANCEL_RATE_LIMIT_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            # src and tests of the tree measured; the benchmark's settings and URLs from this one.
            PYTHONPATH=os.pathsep.join([str(source / "src"), str(source), str(ROOT)]),
        )
        if not answer_cache:
            self.env["ECANCEL_ANSWER_CACHE_BACKEND"] = "ecancel.core.answers.NullAnswerStore"
        seeded = ecancel_shell(SEED, env=self.env, cwd=source, timeout=1800)
        seed = json.loads(seeded.strip().splitlines()[-1])
        operator = {"Authorization": f"Bearer {seed['operator_token']}"}
        notary = {"Authorization": f"Bearer {seed['notary_token']}"}
        self.endpoints: dict[str, tuple[str, list[dict[str, str]]]] = {
            "bare": ("/bare/ping", [{}]),
            "healthz": ("/healthz", [{}]),
            "contracts": ("/api/filing/contracts", [operator]),
            "application": (f"/api/filing/applications/{seed['application']}", [operator]),
            "cases": ("/api/notary/cases", [notary]),
            "buyer_status": ("/b/poll/face/", [{"Cookie": cookie} for cookie in seed["phones"]]),
        }
        log = (self.data / "gunicorn.log").open("ab")
        self.server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "ecancel.config.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                "--worker-class=gthread",
                f"--workers={workers}",
                f"--threads={threads}",
                "--preload",
            ],
            env=self.env,
            cwd=source,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_healthy(self.port, seconds=300)
        for name, (path, header_sets) in self.endpoints.items():
            answer = httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=header_sets[0], timeout=30)
            if answer.status_code != 200:
                raise SystemExit(f"{label} {name}: {path} answered {answer.status_code} {answer.text[:300]}")

    def cpu_seconds(self) -> float:
        """User + system CPU so far of this deployment's gunicorn processes, its database's backends and its Redis."""
        ticks = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ours = int(stat[2]) == self.server.pid or int(pid) == self.redis.pid  # gunicorn's process group
                if not ours:  # a backend's title: "postgres: <user> <database> <client> <state>"
                    title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    ours = f" {self.database} " in title
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue  # gone meanwhile
            if ours:
                ticks += int(stat[11]) + int(stat[12])
        return ticks / CLOCK_TICKS

    def wrk(self, name: str, connections: int, seconds: int) -> dict[str, float]:
        path, header_sets = self.endpoints[name]
        script = self.data / f"{name}.lua"
        script.write_text(LUA % {"path": path, "header_sets": ", ".join(lua_headers(h) for h in header_sets)})
        done = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout=10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{self.port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
        figures = json.loads(line.removeprefix("RESULT "))
        if figures["failed"]:
            raise SystemExit(f"{self.label} {name}: {figures['failed']} failed requests\n{done.stdout}")
        return {
            "req_s": figures["requests"] / (figures["duration_us"] / 1e6),
            "p50_ms": figures["p50_us"] / 1000,
            "p99_ms": figures["p99_us"] / 1000,
        }

    def measure(self, name: str, seconds: int) -> dict[str, float]:
        self.wrk(name, CONNECTIONS, WARM_UP_S)
        cpu_before = self.cpu_seconds()
        loaded = self.wrk(name, CONNECTIONS, seconds)
        cpu_ms = (self.cpu_seconds() - cpu_before) * 1000 / (loaded["req_s"] * seconds)
        alone = self.wrk(name, 1, ALONE_S)
        return {"req_s": loaded["req_s"], "p99_ms": loaded["p99_ms"], "single_ms": alone["p50_ms"], "cpu_ms": cpu_ms}

    def stop(self) -> None:
        os.killpg(self.server.pid, signal.SIGTERM)
        self.server.wait(timeout=60)
        self.redis.terminate()
        self.redis.wait(timeout=60)
        shutil.rmtree(self.data, ignore_errors=True)


def summary(rounds: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per endpoint, the median over the rounds of each figure and of its ratio to the bare endpoint's req/s."""
    out = {}
    for name in rounds[0]:
        out[name] = {
            "req_s": round(statistics.median(r[name]["req_s"] for r in rounds), 1),
            "p99_ms": round(statistics.median(r[name]["p99_ms"] for r in rounds), 1),
            "single_ms": round(statistics.median(r[name]["single_ms"] for r in rounds), 2),
            "ratio_to_bare": round(statistics.median(r[name]["req_s"] / r["bare"]["req_s"] for r in rounds), 3),
            "cpu_ms": round(statistics.median(r[name]["cpu_ms"] for r in rounds), 2),
            "cpu_ratio_to_bare": round(statistics.median(r["bare"]["cpu_ms"] / r[name]["cpu_ms"] for r in rounds), 3),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement at 16 connections")
    parser.add_argument("--against", type=Path, help="another source tree to measure side by side")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per gunicorn process")
    parser.add_argument("--only", nargs="+", help="measure only these endpoints (the bare one always)")
    parser.add_argument(
        "--no-answer-cache", action="store_true", help="build every answer (the null ECANCEL_ANSWER_CACHE_BACKEND)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk 未安装 / wrk is not installed: apt-get install wrk")
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server 未安装 / redis-server is not installed: apt-get install redis-server")

    from tests.postgres_server import start as start_postgres

    cluster_url = start_postgres()
    sources = {"this": ROOT}
    if args.against:
        sources["against"] = args.against.resolve()
    deployments = [
        Deployment(label, source, cluster_url, args.workers, args.threads, answer_cache=not args.no_answer_cache)
        for label, source in sources.items()
    ]
    measured = [name for name in deployments[0].endpoints if not args.only or name == "bare" or name in args.only]
    started, load_before = datetime.now(UTC), os.getloadavg()
    rounds: dict[str, list[dict[str, dict[str, float]]]] = {d.label: [] for d in deployments}
    try:
        for round_no in range(args.rounds):
            results: dict[str, dict[str, dict[str, float]]] = {d.label: {} for d in deployments}
            for name in measured:
                for deployment in deployments if round_no % 2 == 0 else deployments[::-1]:
                    results[deployment.label][name] = deployment.measure(name, args.seconds)
            for label, figures in results.items():
                rounds[label].append(figures)
                print(f"round {round_no + 1} {label}: {json.dumps(figures)}", file=sys.stderr, flush=True)
    finally:
        for deployment in deployments:
            deployment.stop()
    report: dict[str, Any] = {
        "run": {
            "started": started.isoformat(timespec="seconds"),
            "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "connections": CONNECTIONS,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "gunicorn": f"gthread, {args.workers} workers × {args.threads} threads",
            "database": "PostgreSQL on 127.0.0.1",
            "answer_cache": "off" if args.no_answer_cache else "Redis on 127.0.0.1",
        },
        **{label: summary(figures) for label, figures in rounds.items()},
    }
    if args.against:
        report["this_over_against_req_s"] = {
            name: round(report["this"][name]["req_s"] / report["against"][name]["req_s"], 2) for name in report["this"]
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
