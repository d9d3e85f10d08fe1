"""Logins while pushes sign: the audit chain must not make one wait for the other (issue 9 item 4; target:
login p95 during pushes ≤ 2× login p95 alone).

    uv run python benchmarks/audit.py [--logins 40] [--pushers 8] [--slots 0,auto] [--niceness 0,10] [--rounds 3]

A throw-away PostgreSQL server on 127.0.0.1 (as ``tests/postgres_server.py`` starts it) and gunicorn with
one sync worker per pusher plus two for logins. First ``--logins`` logins one after another (the baseline),
then the same number while ``--pushers`` clients push applications through the API without pause (each
push renders and signs two PDFs with a timestamp). That is measured once per ``--slots`` value
(``ECANCEL_SIGNING_SLOTS`` of the server: ``0`` no cap, ``auto`` the default of cores − 1) in each of
``--rounds`` rounds, alternating, so the settings are compared side by side under the same machine load; the
summary gives the median of the rounds per setting. With ``--niceness`` every ``--slots`` value is measured with
each ``ECANCEL_SIGNING_NICENESS`` listed (``default``: the setting's default). Every login is ``POST /login/``:
an Argon2id check and audit events. The relay is left off (no Celery worker), so only the push itself runs, not
the intake.
Also sampled while the logins run beside the pushes: how often some PostgreSQL backend waits for a lock
(``pg_stat_activity``, every 50 ms) — on two cores the pushes' signing also slows a login by taking the CPU,
a lock makes it wait outright; the sample tells the two apart.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from measure import ecancel_shell, free_port, percentile, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

SEED = """
import json
from django.core.management import call_command
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers
call_command("migrate", verbosity=0)
seller = DeveloperFactory().organisation
office = NotaryOfficeFactory().organisation
contracts = [str(contract_with_buyers(2, seller=seller).pk) for _ in range({contracts})]
users = [UserFactory(organisation=seller).username for _ in range(4)]
_, token = api_token_create(organisation=seller, name="benchmark", actor=None, ctx=RequestContext.system())
print(json.dumps({{"token": token, "office": str(office.pk), "contracts": contracts, "users": users}}))
"""
PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - tests.factories.TEST_PASSWORD of throw-away users


class Deployment:
    def __init__(self, database_url: str, workers: int, contracts: int) -> None:
        self.port = free_port()
        self.workers = workers
        self.data = Path(tempfile.mkdtemp(prefix="ecancel-bench-audit-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE="ecancel.config.settings",
            ECANCEL_DATA_DIR=str(self.data),
            ECANCEL_DATABASE_URL=database_url,
            ECANCEL_DEMO="true",
            ECANCEL_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
            ECANCEL_LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        )
        self.seed = json.loads(ecancel_shell(SEED.format(contracts=contracts), env=self.env, cwd=ROOT, timeout=900))
        self.server: subprocess.Popen[bytes] | None = None

    def start(self, slots: str, niceness: str) -> None:
        """gunicorn with ``ECANCEL_SIGNING_SLOTS`` = ``slots`` (``auto``: the setting's default) and
        ``ECANCEL_SIGNING_NICENESS`` = ``niceness`` (``default``: the setting's default)."""
        env = dict(self.env)
        if slots != "auto":
            env["ECANCEL_SIGNING_SLOTS"] = slots
        if niceness != "default":
            env["ECANCEL_SIGNING_NICENESS"] = niceness
        log = (self.data / "gunicorn.log").open("ab")
        self.server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "ecancel.config.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={self.workers}",
                "--preload",  # import once, then fork: ten workers booting on two busy cores take minutes
                "--timeout=300",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_healthy(self.port, seconds=600)

    def stop(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=60)
            self.server = None


def login(base_url: str, username: str) -> float:
    """One password login from a fresh browser; seconds for the POST alone."""
    with httpx.Client(base_url=base_url, timeout=300) as browser:
        page = browser.get("/login/").text
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if match is None:
            raise SystemExit("no CSRF token on the login page")
        started = time.perf_counter()
        answer = browser.post(
            "/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": match.group(1)},
            headers={"Referer": f"{base_url}/login/"},
        )
        elapsed = time.perf_counter() - started
    if answer.status_code != 302:
        raise SystemExit(f"login answered {answer.status_code}")
    return elapsed


def logins(base_url: str, users: list[str], count: int) -> list[float]:
    return [login(base_url, users[n % len(users)]) for n in range(count)]


def pusher(
    base_url: str,
    token: str,
    office: str,
    contracts: list[str],
    stop: threading.Event,
    out: list[float],
    errors: list[str],
) -> None:
    """Push one application after another until told to stop; seconds per push call. A failed call (e.g. a 500
    from a database deadlock) is counted and the pusher goes on with the next contract."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
        for contract in contracts:
            if stop.is_set():
                return
            try:
                created = client.post("/api/filing/applications", json={"contract_id": contract})
                created.raise_for_status()
                path = f"/api/filing/applications/{created.json()['id']}"
                client.put(f"{path}/reason", json={"reason": "mutual_agreement"}).raise_for_status()
                started = time.perf_counter()
                client.post(f"{path}/push", json={"version": 1, "notary_office_id": office}).raise_for_status()
                out.append(time.perf_counter() - started)
            except httpx.HTTPStatusError as failed:
                errors.append(f"{failed.request.method} {failed.response.status_code}")
    raise SystemExit("a pusher ran out of contracts: seed more (--per-pusher)")


def lock_waits(database_url: str, stop: threading.Event, out: list[int]) -> None:
    """Every 50 ms, how many PostgreSQL backends are waiting for a lock (row or table), until told to stop."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        while not stop.is_set():
            row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()
            out.append(int(row[0]) if row else 0)
            time.sleep(0.05)


@dataclass
class Run:
    """One measurement: logins alone, then beside the pushers, with one ``ECANCEL_SIGNING_SLOTS`` value and one
    ``ECANCEL_SIGNING_NICENESS``."""

    setting: str
    alone: list[float]
    during: list[float]
    pushes: list[float]
    pushed_during: int
    errors: list[str]
    waiting: list[int]

    @property
    def ratio(self) -> float:
        return percentile(self.during, 0.95) / percentile(self.alone, 0.95)


def measure(
    deployment: Deployment,
    database_url: str,
    slots: str,
    niceness: str,
    contracts: list[str],
    args: argparse.Namespace,
) -> Run:
    base_url = f"http://127.0.0.1:{deployment.port}"
    seed = deployment.seed
    deployment.start(slots, niceness)
    try:
        # Warm-up: keys, CA, fonts and compilers in every worker, connections to PostgreSQL.
        logins(base_url, seed["users"], args.pushers + 2)
        alone = logins(base_url, seed["users"], args.logins)
        stop = threading.Event()
        pushes: list[float] = []
        errors: list[str] = []
        threads = [
            threading.Thread(
                target=pusher,
                args=(base_url, seed["token"], seed["office"], contracts[n :: args.pushers], stop, pushes, errors),
                daemon=True,
            )
            for n in range(args.pushers)
        ]
        for thread in threads:
            thread.start()
        while len(pushes) + len(errors) < args.pushers:  # every pusher is past its first (warm-up) push
            time.sleep(0.05)
        sampling = threading.Event()
        waiting: list[int] = []
        sampler = threading.Thread(target=lock_waits, args=(database_url, sampling, waiting), daemon=True)
        sampler.start()
        during = logins(base_url, seed["users"], args.logins)
        pushed_during = len(pushes)
        sampling.set()
        sampler.join(timeout=60)
        stop.set()
        for thread in threads:
            thread.join(timeout=600)
    finally:
        deployment.stop()
    return Run(f"slots={slots} nice={niceness}", alone, during, pushes, pushed_during, errors, waiting)


def report(run: Run, args: argparse.Namespace) -> None:
    print(f"{'':<34}{'median':>9}{'p95':>9}{'max':>9}")
    for label, values in (("login alone", run.alone), (f"login during {args.pushers} pushers", run.during)):
        print(f"{label:<34}{statistics.median(values):>8.3f}s{percentile(values, 0.95):>8.3f}s{max(values):>8.3f}s")
    pushes = run.pushes
    print(
        f"{'push (API call)':<34}{statistics.median(pushes):>8.3f}s{percentile(pushes, 0.95):>8.3f}s"
        f"{max(pushes):>8.3f}s"
    )
    print(
        f"login p95 during pushes / alone: {run.ratio:.2f}× (target ≤ 2×); {run.pushed_during} pushes while logging in"
    )
    print(f"failed API calls of the pushers: {len(run.errors)} {sorted(set(run.errors))}")
    blocked = sum(1 for n in run.waiting if n) / len(run.waiting) if run.waiting else 0.0
    print(
        f"lock waits while logging in: some backend waiting in {blocked:.0%} of {len(run.waiting)} samples "
        f"(every 50 ms), at most {max(run.waiting, default=0)} at once"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--pushers", type=int, default=8)
    parser.add_argument("--per-pusher", type=int, default=30, help="contracts seeded per pusher and run")
    parser.add_argument("--slots", default="auto", help="ECANCEL_SIGNING_SLOTS values to compare: 0,auto,2 …")
    parser.add_argument(
        "--niceness", default="default", help="ECANCEL_SIGNING_NICENESS values to compare: 0,10,default …"
    )
    parser.add_argument("--rounds", type=int, default=1, help="measure every --slots value this many times")
    args = parser.parse_args()
    settings = [
        (slots.strip(), niceness.strip())
        for slots in args.slots.split(",")
        if slots.strip()
        for niceness in args.niceness.split(",")
        if niceness.strip()
    ]

    from tests.postgres_server import start as start_postgres

    database_url = start_postgres()
    per_run = args.pushers * args.per_pusher
    deployment = Deployment(database_url, args.pushers + 2, per_run * len(settings) * args.rounds + 1)
    contracts = iter(deployment.seed["contracts"][n : n + per_run] for n in range(0, 10**9, per_run))
    runs: list[Run] = []
    for round_no in range(1, args.rounds + 1):
        for slots, niceness in settings:
            run = measure(deployment, database_url, slots, niceness, next(contracts), args)
            runs.append(run)
            load = os.getloadavg()[0]
            print(
                f"\nround {round_no}, ECANCEL_SIGNING_SLOTS={slots} ECANCEL_SIGNING_NICENESS={niceness} "
                f"({datetime.now():%Y-%m-%d %H:%M}, load {load:.1f})",
                flush=True,
            )
            report(run, args)
            sys.stdout.flush()
    print(f"\nlogins on PostgreSQL, {args.logins} each run; median over {args.rounds} round(s) per setting")
    print(f"{'setting':<24}{'alone p95':>11}{'during p95':>12}{'ratio':>8}  ratios of the rounds")
    for setting in dict.fromkeys(run.setting for run in runs):
        mine = [run for run in runs if run.setting == setting]
        alone = statistics.median(percentile(run.alone, 0.95) for run in mine)
        during = statistics.median(percentile(run.during, 0.95) for run in mine)
        ratios = [run.ratio for run in mine]
        print(
            f"{setting:<24}{alone:>10.3f}s{during:>11.3f}s{statistics.median(ratios):>7.2f}×  "
            + " ".join(f"{r:.2f}×" for r in ratios)
        )


if __name__ == "__main__":
    main()
