"""How fast every console page answers with one user on the demo data set (issue 14 item 10; target ≤50 ms p95).

    uv run python benchmarks/pages.py [--requests 100]

One process, its own throw-away data directory in demo mode: migrate, ``seed_demo``, then one application
pushed and accepted by the notary office (relayed in-process, ``ECANCEL_TASKS_EAGER``) so that the QR,
the live status and the notary's case pages have something to show; its buyers' finished evidence is then
written as the phone journey leaves it (``tests/notary/review_data.py``) and the case put under review, for the
review pages. Each page is requested through Django's test client as the role that uses it (operator
``ys_operator``, notary clerk ``gz1_clerk``, notary ``gz1_notary``, notary admin ``gz1_admin``, filing
officer ``zjj_officer``), a few times to warm up and then ``--requests`` times; printed per page: median
and p95 in milliseconds and the number of SQL queries one request makes. Tests assert the query counts
stay constant (tests/cancellation/test_console_feedback.py, tests/notary/test_console.py); only this
script measures time.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WARM_UP = 5


def prepare() -> dict[str, object]:
    """The demo city plus one application pushed and accepted; the clients of the three roles."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from tests.notary.review_data import submitted_buyer, under_review

    from ecancel.accounts.actors import Actor
    from ecancel.accounts.auth import DEMO_SKIP_SESSION_KEY
    from ecancel.accounts.models import User
    from ecancel.cancellation.models import Application
    from ecancel.cancellation.selectors import application_qr
    from ecancel.cancellation.services.drafting import application_create, application_set_reason
    from ecancel.cancellation.services.push import application_push
    from ecancel.core.context import RequestContext
    from ecancel.filing.models import FiledContract
    from ecancel.filing.transitions import ContractStatus
    from ecancel.notary.models import CaseParty, NotaryCase, PartyRole

    call_command("migrate", verbosity=0)
    call_command("seed_demo", logins_file=Path(os.environ["ECANCEL_DATA_DIR"]) / "logins.txt", stdout=io.StringIO())

    def client(username: str) -> tuple[Client, User]:
        user = User.objects.get(username=username)
        browser = Client()
        browser.force_login(user)
        session = browser.session
        session[DEMO_SKIP_SESSION_KEY] = True
        session.save()
        return browser, user

    operator_client, operator = client("ys_operator")
    clerk_client, clerk = client("gz1_clerk")
    filing_client, _ = client("zjj_officer")
    actor, ctx = Actor.staff(operator), RequestContext.system()
    draft = Application.objects.filter(seller=operator.organisation).get()
    contract = FiledContract.objects.filter(seller=operator.organisation, status=ContractStatus.FILED).first()
    assert contract is not None and clerk.organisation is not None
    pushed = application_create(contract_id=contract.pk, actor=actor, ctx=ctx)
    application_set_reason(application_id=pushed.pk, reason="mutual_agreement", actor=actor, ctx=ctx)
    application_push(application_id=pushed.pk, notary_office_id=clerk.organisation.pk, actor=actor, ctx=ctx)
    pushed.refresh_from_db()
    if application_qr(pushed) is None:
        raise SystemExit("the pushed application was not accepted: is ECANCEL_TASKS_EAGER set?")
    case = NotaryCase.objects.filter(office__organisation=clerk.organisation).order_by("-received_at").first()
    assert case is not None
    buyers = CaseParty.objects.filter(case=case, role=PartyRole.BUYER).order_by("position")
    evidence = [submitted_buyer(case, party.position) for party in buyers]
    under_review(case)
    photo = evidence[0].uploads["holding"].pk
    notary_client, _ = client("gz1_notary")
    admin_client, _ = client("gz1_admin")
    operator_pages = {
        "operator: filed contracts": "/operator/contracts/",
        "operator: contract": f"/operator/contracts/{draft.contract_id}/",
        "operator: applications": "/operator/applications/",
        "operator: draft application": f"/operator/applications/{draft.pk}/",
        "operator: pushed application (QR)": f"/operator/applications/{pushed.pk}/",
        "operator: live status fragment": f"/operator/applications/{pushed.pk}/status/",
        "operator: push confirm": f"/operator/applications/{draft.pk}/push/",
        "operator: revoke confirm": f"/operator/applications/{pushed.pk}/revoke/",
        "operator: remove agent confirm": f"/operator/applications/{draft.pk}/agent/remove/",
        "operator: QR print": f"/operator/applications/{pushed.pk}/qr/print",
    }
    notary_pages = {
        "notary: case list": "/notary/",
        "notary: case list (live fragment)": "/notary/?HX",
        "notary: case": f"/notary/cases/{case.pk}/",
        "notary: case progress (live fragment)": f"/notary/cases/{case.pk}/status/",
    }
    review_pages = [
        ("notary admin: review queue (with assignment)", admin_client, "/notary/review/"),
        ("notary: review queue", notary_client, "/notary/review/"),
        ("notary: review of a case (evidence per buyer)", notary_client, f"/notary/review/{case.pk}/"),
        ("notary: evidence photo", notary_client, f"/notary/review/{case.pk}/uploads/{photo}"),
        ("notary admin: calendar", admin_client, "/notary/review/calendar/"),
    ]
    return {
        "pages": [
            *[(name, operator_client, url) for name, url in operator_pages.items()],
            *[(name, clerk_client, url) for name, url in notary_pages.items()],
            *review_pages,
            ("filing officer: home", filing_client, "/"),
        ]
    }


def query_count(client: Any, path: str, headers: dict[str, str]) -> int:
    """How many SQL statements one request makes."""
    from django.db import connection

    seen: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *args: seen.append(sql) or execute(sql, *args)):
        client.get(path, headers=headers)
    return len(seen)


def measure(requests: int) -> None:

    prepared = prepare()
    rows = []
    for name, client, url in prepared["pages"]:  # type: ignore[attr-defined]
        headers = {"HX-Request": "true"} if url.endswith("?HX") else {}
        path = url.removesuffix("?HX")
        for _ in range(WARM_UP):
            response = client.get(path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {path} answered {response.status_code}")
        queries = query_count(client, path, headers)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(path, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        rows.append((name, statistics.median(timings), percentile(timings, 0.95), queries))
    print(f"console pages, demo data set, one user, {requests} requests each (load average {os.getloadavg()[0]:.1f})")
    print(f"{'page':<40}{'median ms':>11}{'p95 ms':>9}{'queries':>9}")
    for name, median, p95, count in rows:
        print(f"{name:<40}{median:>11.1f}{p95:>9.1f}{count:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecancel-bench-pages-") as data_dir:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "ecancel.config.settings",
                "ECANCEL_DATA_DIR": data_dir,
                "ECANCEL_DEMO": "true",
                "ECANCEL_TASKS_EAGER": "true",
                "ECANCEL_LOG_LEVEL": "ERROR",
            }
        )
        sys.path.insert(0, str(ROOT / "src"))
        measure(args.requests)


if __name__ == "__main__":
    main()
