"""One case from create to filing cancelled, on the one-machine default (issue 13 item 10).

    uv run python benchmarks/end_to_end.py [--warm 3] [--cases 50] [--processes 4]

Both sides in one deployment, as ``ecancel up`` runs it: SQLite (WAL) in a throw-away data directory, every
message through the outbox, relay, in-process transport and inbox, tasks run on commit in the process that
queued them. Each case goes the whole way through the public surfaces, in this order:

1. the operator's API (token): create, reason, notary office, push — two filing documents signed, the office's
   intake and its three documents signed, the QR back;
2. two buyers on their phones through the journey's pages: a mainland citizen (face path) and a passport holder
   (document and 15-second video path), each sealed with a signed manifest;
3. the notary approves on the review page: the certificate is numbered, rendered, signed PAdES B-LTA, the case
   archived, ``certificate.issued`` relayed and checked by the filing side, the filing cancelled.

The identity engine is the null provider here (its own cost per buyer is measured by ``benchmarks/buyer.py``
and ``benchmarks/identity.py``); everything else is the real code. Reported:

- **one case**: wall and CPU (``time.process_time``, all threads of the process) per step and in all, the median
  of ``--warm`` cases run one after another after a first, cold one (reported apart);
- **many at once**: ``--cases`` cases split over ``--processes`` processes started together; cases per minute
  from the first start to the last finish, and any case that failed.

Targets (issue 13): ≤ 10 s wall per case; ≥ 20 cases per minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API = "/api/filing/applications"


def _configure(data: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="ecancel.config.settings",
        ECANCEL_DATA_DIR=data,
        ECANCEL_PUBLIC_URL="http://127.0.0.1:8000",
        ECANCEL_LOG_LEVEL="ERROR",
        ECANCEL_IDENTITY_PROVIDER="null",
        ECANCEL_TASKS_EAGER="true",
    )
    for path in (str(ROOT / "src"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


def _seed(contracts: int) -> dict[str, Any]:
    from django.core.management import call_command
    from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers

    from ecancel.accounts.models import Role
    from ecancel.accounts.services import api_token_create
    from ecancel.core.context import RequestContext
    from ecancel.identity.id_numbers import IdType

    call_command("migrate", verbosity=0)
    seller = DeveloperFactory().organisation
    office = NotaryOfficeFactory().organisation
    notary = UserFactory(organisation=office, role=Role.NOTARY, display_name="陈公证")
    ids = []
    for n in range(contracts):
        contract = contract_with_buyers(2, seller=seller)
        contract.buyers.filter(position=2).update(
            id_type=IdType.PASSPORT, id_number=f"E{10000000 + n}", id_issuing_country="USA", region="美国"
        )
        ids.append(str(contract.pk))
    _, token = api_token_create(organisation=seller, name="benchmark", actor=None, ctx=RequestContext.system())
    return {"token": token, "office": str(office.pk), "notary": notary.pk, "contracts": ids}


def _call(client: Any, method: str, url: str, data: dict[str, Any] | None = None, expect: int = 200) -> Any:
    response = getattr(client, method)(url, data or {}, content_type="application/json")
    if response.status_code != expect:
        raise RuntimeError(f"{method.upper()} {url}: {response.status_code} {response.content[:300]!r}")
    return response.json()


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def recording(variant: int) -> bytes:
    """The passport holder's 15-second video, its own per case (one seen before is refused as a replay). Made
    before the clock starts: encoding it is the phone's work, not the system's."""
    from tests.identity import makers

    return makers.make_video(15, size=(640, 480 - 2 * (variant % 100)))


def run_case(world: dict[str, Any], contract_id: str, variant: int) -> dict[str, Any]:
    """One case the whole way; wall and CPU seconds per step."""
    from django.test import Client
    from tests.buyers.journey import Phone, mainland_to_done, passport_to_done
    from tests.conftest import logged_in_client

    from ecancel.accounts.models import User
    from ecancel.notary.models import NotaryCase

    def committed(**_: Any) -> Any:
        return nullcontext()

    video = recording(variant)
    steps: dict[str, tuple[float, float]] = {}
    started = mark = _clock()

    def step(name: str) -> None:
        nonlocal mark
        now = _clock()
        steps[name] = (now[0] - mark[0], now[1] - mark[1])
        mark = now

    api = Client(HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    created = _call(api, "post", API, {"contract_id": contract_id}, expect=201)
    url = f"{API}/{created['id']}"
    _call(api, "put", f"{url}/reason", {"reason": "mutual_agreement"})
    _call(api, "put", f"{url}/notary-office", {"notary_office_id": world["office"]})
    pushed = _call(api, "post", f"{url}/push", {"version": 1})
    swept = pushed["qr"] is None
    if swept:
        # The work queued on the push's commit did not finish (under load, SQLite's single writer can time a
        # step out): do what beat's sweeps would do a minute later, and count the case.
        pushed = _sweep_until(api, url, lambda answer: answer["qr"] is not None)
    step("create and push to QR")
    handoff = pushed["qr"]["url"]
    mainland_to_done(Phone(committed, ip=f"203.0.113.{variant % 250 + 1}"), handoff, position=1, variant=variant)
    step("mainland buyer (face path)")
    passport_to_done(Phone(committed, ip=f"198.51.100.{variant % 250 + 1}"), handoff, position=2, video=video)
    step("passport holder (document and video path)")
    case = NotaryCase.objects.get(application_ref=created["id"])
    notary = logged_in_client(User.objects.get(pk=world["notary"]))
    if notary.get(f"/notary/review/{case.pk}/").status_code != 200:
        raise RuntimeError("review page")
    if notary.post(f"/notary/review/{case.pk}/approve/", {"approve-confirmed": "on"}).status_code != 302:
        raise RuntimeError("approve")
    done = _call(api, "get", url)
    if done["status"] != "cancelled":
        swept = True
        done = _sweep_until(api, url, lambda answer: answer["status"] == "cancelled")
    step("review, approve, certificate back, filing cancelled")
    total = _clock()
    return {
        "wall_s": total[0] - started[0],
        "cpu_s": total[1] - started[1],
        "steps": steps,
        "certificate_no": done["certificate"]["certificate_no"],
        "swept": swept,
    }


def _sweep_until(api: Any, url: str, reached: Any) -> Any:
    """Run what beat's sweeps run (relay, acceptance, certification) until the application shows ``reached``."""
    from datetime import timedelta

    from ecancel.core.context import RequestContext
    from ecancel.exchange.services import relay_due
    from ecancel.notary.services.acceptance import cases_accept_pending
    from ecancel.notary.services.approval import cases_certify_pending

    ctx = RequestContext.system("benchmark_sweep")
    for _ in range(20):
        relay_due()
        cases_accept_pending(older_than=timedelta(0), ctx=ctx)
        cases_certify_pending(older_than=timedelta(0), ctx=ctx)
        relay_due()
        answer = _call(api, "get", url)
        if reached(answer):
            return answer
        time.sleep(0.5)
    raise RuntimeError(f"still {answer['status']} after the sweeps")


def _worker(data: str, world: dict[str, Any], contracts: list[str], offset: int, out: Any) -> None:
    _configure(data)
    results = []
    for n, contract_id in enumerate(contracts):
        try:
            results.append(run_case(world, contract_id, offset + n))
        except Exception as exc:  # noqa: BLE001 - a failed case is counted and reported, not fatal
            results.append({"error": f"{type(exc).__name__}: {exc}"[:300]})
    out.put((time.time(), results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=3, help="cases measured one by one after a cold first one")
    parser.add_argument("--cases", type=int, default=50, help="cases run at once")
    parser.add_argument("--processes", type=int, default=4, help="processes the cases at once are split over")
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="ecancel-e2e-bench-")
    _configure(data)
    world = _seed(1 + args.warm + args.cases)
    contracts = world["contracts"]

    cold = run_case(world, contracts[0], 0)
    warm = [run_case(world, contracts[1 + n], 1 + n) for n in range(args.warm)]
    one = {
        "cold": {"wall_s": round(cold["wall_s"], 2), "cpu_s": round(cold["cpu_s"], 2)},
        "median_wall_s": round(statistics.median(r["wall_s"] for r in warm), 2),
        "median_cpu_s": round(statistics.median(r["cpu_s"] for r in warm), 2),
        "steps_median_wall_cpu_s": {
            name: [
                round(statistics.median(r["steps"][name][0] for r in warm), 2),
                round(statistics.median(r["steps"][name][1] for r in warm), 2),
            ]
            for name in warm[0]["steps"]
        },
    }

    from django.db import connections

    connections.close_all()
    many = contracts[1 + args.warm :]
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    shares = [many[p :: args.processes] for p in range(args.processes)]
    started = time.time()
    processes = [
        context.Process(target=_worker, args=(data, world, share, 1000 * (p + 1), out))
        for p, share in enumerate(shares)
        if share
    ]
    for process in processes:
        process.start()
    finished, results = [], []
    for _ in processes:
        at, part = out.get()
        finished.append(at)
        results.extend(part)
    for process in processes:
        process.join()
    elapsed = max(finished) - started
    failures = [r["error"] for r in results if "error" in r]
    completed = [r for r in results if "error" not in r]
    numbers = [r["certificate_no"] for r in completed]
    at_once = {
        "cases": len(many),
        "processes": len(processes),
        "completed": len(completed),
        "failed": len(failures),
        "failures": failures[:5],
        "distinct_certificate_numbers": len(set(numbers)) == len(numbers),
        "finished_by_the_sweep": sum(1 for r in completed if r["swept"]),
        "elapsed_s": round(elapsed, 1),
        "cases_per_minute": round(60 * len(completed) / elapsed, 1),
        "median_case_wall_s": round(statistics.median(r["wall_s"] for r in completed), 2) if completed else None,
    }
    print(json.dumps({"one_case": one, "at_once": at_once, "cpus": os.cpu_count()}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
