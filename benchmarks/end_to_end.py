"""One case from create to filing cancelled, on the one-machine default (issue 13 item 10).

    uv run python benchmarks/end_to_end.py [--warm 3] [--cases 50] [--processes 4] [--engine null|local]

Both sides in one deployment, as ``ecancel up`` runs it: SQLite (WAL) in a throw-away data directory, every
message through the outbox, relay, in-process transport and inbox, tasks run on commit in the process that
queued them. Each case goes the whole way through the public surfaces, in this order:

1. the operator's API (token): create, reason, notary office, push — two filing documents signed, the office's
   intake and its three documents signed, the QR back;
2. two buyers on their phones through the journey's pages: a mainland citizen (face path) and a passport holder
   (document and 15-second video path), each manifest sealed with the office's signature;
3. the notary approves on the review page: the certificate is numbered, rendered, signed PAdES B-LTA, the case
   archived, ``certificate.issued`` relayed and checked by the filing side, the filing cancelled.

The identity engine (``--engine``) is the null provider by default, which decides without looking (its own cost
per buyer is measured by ``benchmarks/buyer.py`` and ``benchmarks/identity.py``), or the local one the default
deployment runs (``ECANCEL_IDENTITY_PROVIDER=local``: dlib faces and liveness, rapidocr reading, PyAV video; models
loaded once per process before any clock). With it the phones send what it can check, made with
``ecancel.identity.specimens``: the ID card of the mainland buyer's own name and number (its portrait is the face the
two live checks follow, eight head frames of the action the page asks for), and a passport page with the holder's
MRZ, read at the document step and again at submission, beside the 15-second video. Everything else is the real
code. Reported:

- **one case**: wall and CPU (``time.process_time``, all threads of the process) per step and in all, the median
  of ``--warm`` cases run one after another after a first, cold one (reported apart);
- **many at once**: ``--cases`` cases split over ``--processes`` processes; each process first makes its phones'
  pictures and videos (the phones' work), then all start together; cases per minute from that start to the last
  finish, and any case that failed.

Targets (issue 13): ≤ 10 s wall per case; ≥ 20 cases per minute on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API = "/api/filing/applications"
CARD_NAME = "张伟"
PASSPORT_SURNAME, PASSPORT_GIVEN = "SMITH", "JOHN PAUL"
PASSPORT_NAME = f"{PASSPORT_SURNAME} {PASSPORT_GIVEN}"


def _configure(data: str, engine: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="ecancel.config.settings",
        ECANCEL_DATA_DIR=data,
        ECANCEL_PUBLIC_URL="http://127.0.0.1:8000",
        ECANCEL_LOG_LEVEL="ERROR",
        ECANCEL_IDENTITY_PROVIDER=engine,
        ECANCEL_TASKS_EAGER="true",
    )
    for path in (str(ROOT / "src"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()
    if engine == "local":  # loaded once per process, as the worker does, not inside the first case's clock
        from ecancel.identity import faces, reading

        faces.load_models()
        reading.ocr_engine()


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
        # Names an ID card and a passport's MRZ can carry (the local engine reads them and compares).
        contract.buyers.filter(position=1).update(name=CARD_NAME)
        contract.buyers.filter(position=2).update(
            name=PASSPORT_NAME,
            id_type=IdType.PASSPORT,
            id_number=f"E{10000000 + n}",
            id_issuing_country="USA",
            region="美国",
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
    from ecancel.identity import specimens

    return specimens.make_video(15, size=(640, 480 - 2 * (variant % 100)), variant=variant)


# --- the two buyers with the local engine: pictures it can read and a face it can follow ---------------------------
# Made per case before the clock starts (the phone's camera work, not the system's); a few pixels differ per case, so
# no capture is a replay of another.


def _unique(image: Any, variant: int, slot: int) -> bytes:
    from ecancel.identity import specimens

    return specimens.to_jpeg(specimens.varied(image, variant * 100 + slot))


@functools.cache
def _head_frames(action: str) -> list[Any]:
    """Warped once per process and action (each case varies them in its own way)."""
    from ecancel.identity.specimens import head_frames

    return head_frames(action)


def engine_pictures(variant: int, card_number: str, passport_number: str) -> dict[str, Any]:
    """The ID card (front read for the face step's portrait), its back and a holding photo; the passport page; eight
    head frames per liveness action for each of the two face checks."""
    from ecancel.identity import specimens

    birth = date(int(card_number[6:10]), int(card_number[10:12]), int(card_number[12:14]))
    card = specimens.IdCardFront(
        name=CARD_NAME, number=card_number, birth=birth, sex="男" if int(card_number[16]) % 2 else "女"
    )
    front = specimens.render_id_card_front(card)
    passport = specimens.render_passport_page(
        specimens.Passport(
            surname=PASSPORT_SURNAME,
            given_names=PASSPORT_GIVEN,
            number=passport_number,
            country="USA",
            nationality="USA",
        )
    )
    return {
        "card_front": _unique(front, variant, 0),
        "card_back": _unique(specimens.render_id_card_back(), variant, 1),
        "holding": _unique(front, variant, 2),
        "passport": _unique(passport, variant, 3),
        "passport_back": _unique(passport, variant, 4),
        "frames": {
            (attempt, action): [
                _unique(frame, variant, 10 * attempt + n) for n, frame in enumerate(_head_frames(action))
            ]
            for attempt in (1, 2)
            for action in ("turn_left", "turn_right", "nod")
        },
    }


def _expect(answer: Any, location: str) -> None:
    if answer.get("Location") != location:
        raise RuntimeError(f"expected {location}, got {answer.status_code} {answer.get('Location')}")


def _face_by_engine(phone: Any, url: str, attempt: int, pictures: dict[str, Any], after: str) -> None:
    import re

    from tests.buyers.journey import hidden, upload

    camera = phone.get(url).content.decode()
    action = re.search(r'data-liveness-action="([a-z_]+)"', camera)
    if action is None:
        from ecancel.selftest.drive import visible_text

        raise RuntimeError(f"{url}: no camera page: {visible_text(camera)}")
    frames = [upload(f"f{n}.jpg", jpeg) for n, jpeg in enumerate(pictures["frames"][(attempt, action.group(1))])]
    phone.post(url, {"check": hidden(camera, "check"), "nonce": hidden(camera, "nonce"), "frames": frames})
    _expect(phone.get(url), after)


def mainland_by_engine(phone: Any, handoff: str, pictures: dict[str, Any]) -> None:
    """The face path with the local engine: the ID card's front read for its portrait, two live face checks."""
    from tests.buyers.journey import read_documents, signature_data_url, upload

    _expect(phone.scan(handoff), "/b/")
    _expect(phone.post("/b/choose/", {"buyer": 1}), "/b/consent/")
    _expect(phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"}), "/b/face/")
    phone.post("/b/face/reference/", {"document_front": upload("id.jpg", pictures["card_front"])})
    _face_by_engine(phone, "/b/face/", 1, pictures, "/b/read/")
    read_documents(phone)
    photos = {"document_back": upload("b.jpg", pictures["card_back"]), "holding": upload("h.jpg", pictures["holding"])}
    _expect(phone.post("/b/uploads/", photos), "/b/signature/")
    _expect(phone.post("/b/signature/", {"signature": signature_data_url()}), "/b/face-again/")
    _face_by_engine(phone, "/b/face-again/", 2, pictures, "/b/done/")


def passport_by_engine(phone: Any, handoff: str, pictures: dict[str, Any], video: bytes) -> None:
    """The document and video path with the local engine: the passport page read (MRZ), the 15-second video
    against its portrait, the page read again at submission."""
    from tests.buyers.journey import hidden, read_documents, signature_data_url, upload

    phone.scan(handoff)
    _expect(phone.post("/b/choose/", {"buyer": 2}), "/b/consent/")
    _expect(phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"}), "/b/document-kind/")
    _expect(phone.post("/b/document-kind/", {"kind": "passport"}), "/b/document-read/")
    phone.post("/b/document-read/", {"front": upload("p.jpg", pictures["passport"])})
    _expect(phone.get("/b/document-read/"), "/b/read/")
    read_documents(phone)
    photos = {
        "document_front": upload("front.jpg", pictures["passport"]),
        "document_back": upload("back.jpg", pictures["passport_back"]),
        "holding": upload("holding.jpg", pictures["holding"]),
    }
    _expect(phone.post("/b/uploads/", photos), "/b/signature/")
    _expect(phone.post("/b/signature/", {"signature": signature_data_url()}), "/b/video/")
    recorder = phone.get("/b/video/").content.decode()
    recording = upload("v.webm", video, "video/webm")
    fields = {"check": hidden(recorder, "check"), "nonce": hidden(recorder, "nonce"), "video": recording}
    phone.post("/b/video/", fields)
    _expect(phone.get("/b/video/"), "/b/submit/")
    phone.post("/b/submit/")
    _expect(phone.get("/b/submit/"), "/b/done/")


def case_media(world: dict[str, Any], contract_id: str, variant: int) -> dict[str, Any]:
    """What the two phones will send for one case (the video; with the local engine, the pictures too)."""
    media: dict[str, Any] = {"video": recording(variant), "pictures": None}
    if world["engine"] == "local":
        from ecancel.filing.models import FiledContract

        buyers = dict(FiledContract.objects.get(pk=contract_id).buyers.values_list("position", "id_number"))
        media["pictures"] = engine_pictures(variant, buyers[1], buyers[2])
    return media


def run_case(
    world: dict[str, Any], contract_id: str, variant: int, media: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One case the whole way; wall and CPU seconds per step."""
    from django.test import Client
    from tests.buyers.journey import Phone, mainland_to_done, passport_to_done
    from tests.conftest import logged_in_client

    from ecancel.accounts.models import User
    from ecancel.notary.models import NotaryCase
    from ecancel.notary.transitions import CaseStatus

    def committed(**_: Any) -> Any:
        return nullcontext()

    media = media or case_media(world, contract_id, variant)
    video, pictures = media["video"], media["pictures"]
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
    first, second = (
        Phone(committed, ip=f"203.0.113.{variant % 250 + 1}"),
        Phone(committed, ip=f"198.51.100.{variant % 250 + 1}"),
    )
    if pictures is None:
        mainland_to_done(first, handoff, position=1, variant=variant)
    else:
        mainland_by_engine(first, handoff, pictures)
    step("mainland buyer (face path)")
    if pictures is None:
        passport_to_done(second, handoff, position=2, video=video)
    else:
        passport_by_engine(second, handoff, pictures, video)
    step("passport holder (document and video path)")
    case = NotaryCase.objects.get(application_ref=created["id"])
    if case.status != CaseStatus.UNDER_REVIEW:
        # A manifest's sealing, queued on the last submission's commit, did not finish: do what beat would.
        swept = True
        _sweep_until(api, url, lambda _: NotaryCase.objects.get(pk=case.pk).status == CaseStatus.UNDER_REVIEW)
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
    """Run what beat's sweeps run (relay, acceptance, certification, sealing) until ``reached`` holds."""
    from datetime import timedelta

    from ecancel.buyers.services.submission import manifests_seal_pending
    from ecancel.core.context import RequestContext
    from ecancel.exchange.services import relay_due
    from ecancel.notary.services.acceptance import cases_accept_pending
    from ecancel.notary.services.approval import cases_certify_pending

    ctx = RequestContext.system("benchmark_sweep")
    for _ in range(20):
        relay_due()
        cases_accept_pending(older_than=timedelta(0), ctx=ctx)
        cases_certify_pending(older_than=timedelta(0), ctx=ctx)
        manifests_seal_pending(older_than=timedelta(0), ctx=ctx)
        relay_due()
        answer = _call(api, "get", url)
        if reached(answer):
            return answer
        time.sleep(0.5)
    raise RuntimeError(f"still {answer['status']} after the sweeps")


def _worker(data: str, world: dict[str, Any], contracts: list[str], offset: int, ready: Any, go: Any, out: Any) -> None:
    _configure(data, world["engine"])
    media = [case_media(world, contract_id, offset + n) for n, contract_id in enumerate(contracts)]
    ready.put(os.getpid())  # the phones' media are made: the clock starts once every process is here
    go.wait()
    results = []
    for n, contract_id in enumerate(contracts):
        try:
            results.append(run_case(world, contract_id, offset + n, media[n]))
        except Exception as exc:  # noqa: BLE001 - a failed case is counted and reported, not fatal
            results.append({"error": f"{type(exc).__name__}: {exc}"[:300]})
    out.put((time.time(), results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=3, help="cases measured one by one after a cold first one")
    parser.add_argument("--cases", type=int, default=50, help="cases run at once")
    parser.add_argument("--processes", type=int, default=4, help="processes the cases at once are split over")
    parser.add_argument(
        "--engine",
        choices=("null", "local"),
        default="null",
        help="the identity engine: null (decides without looking) or local (dlib, rapidocr, PyAV: the default "
        "deployment's)",
    )
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="ecancel-e2e-bench-")
    _configure(data, args.engine)
    world = {**_seed(1 + args.warm + args.cases), "engine": args.engine}
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
    out, ready, go = context.Queue(), context.Queue(), context.Event()
    shares = [many[p :: args.processes] for p in range(args.processes)]
    processes = [
        context.Process(target=_worker, args=(data, world, share, 1000 * (p + 1), ready, go, out))
        for p, share in enumerate(shares)
        if share
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get()
    started = time.time()
    go.set()
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
        "cpu_s_all_processes": round(sum(r["cpu_s"] for r in completed), 1),
        "cases_per_minute": round(60 * len(completed) / elapsed, 1),
        "median_case_wall_s": round(statistics.median(r["wall_s"] for r in completed), 2) if completed else None,
    }
    report = {"engine": args.engine, "one_case": one, "at_once": at_once, "cpus": os.cpu_count()}
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
