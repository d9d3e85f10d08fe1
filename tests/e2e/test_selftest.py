"""Issue 13 item 8: ``ecancel selftest`` drives one whole case through a running system and says whether it held.

The system is a real server on 127.0.0.1 hosting both sides, with the local identity engine; the self-test runs
as an operator would run it after deploying, as its own process with the deployment's settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Deployment, free_port, serving

pytestmark = pytest.mark.slow

OFFICE = """
from django.core.management import call_command
from ecancel.accounts.models import NotaryOffice, Organisation
call_command("migrate", verbosity=0)
office = Organisation.objects.create(kind="notary_office", name="自检测试公证处", address="中山市石岐区公证路2号")
NotaryOffice.objects.create(organisation=office, code="ST01", certificate_prefix="粤中中证字", case_prefix="中证受字")
"""

NOTARY_ACCOUNT = """
from ecancel.accounts.models import User
user = User.objects.get(username="selftest_notary_ST01")
print(user.is_active, user.has_usable_password(), user.totpdevice_set.count())
"""

STEPS = [
    "create_and_push",
    "qr",
    "buyer_mainland",
    "buyer_passport",
    "review_and_approve",
    "certificate_received",
    "filing_cancelled",
    "certificate_verified",
]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    one = Deployment("one", "filing,notary", tmp_path_factory.mktemp("selftest"))
    one.manage("shell", "--no-imports", "-c", OFFICE)
    with serving(one):
        yield one


def selftest(system: Deployment, *arguments: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "ecancel.manage", "selftest", *arguments],
        env=system.env(),
        capture_output=True,
        timeout=900,
    )
    out = done.stdout.decode()
    return done.returncode, json.loads(out) if out.strip() else {}, done.stderr.decode()


def test_a_whole_case_holds_and_its_certificate_is_written(system: Deployment, tmp_path: Path) -> None:
    code, summary, errors = selftest(system, "--url", system.url, "--out", str(tmp_path))

    assert code == 0, (errors, summary, system.tail())
    assert summary["ok"] and [step["name"] for step in summary["steps"]] == STEPS
    assert all(step["ok"] and step["seconds"] >= 0 for step in summary["steps"])
    assert summary["steps"][-2]["state"] == "application=cancelled contract=cancelled unit=available"
    assert summary["verification"]["valid"] and summary["verification"]["signed_by"] == "自检测试公证处"
    certificate = Path(summary["certificate_file"])
    assert certificate.parent == tmp_path and certificate.read_bytes().startswith(b"%PDF")
    assert "粤中中证字自检第" in summary["certificate_no"], "numbered outside the office's register"
    assert summary["case_number"].endswith("中证受字自检第0001号"), "so is its case"
    system.manage("verify_pdf", str(certificate))
    # Nothing usable is left behind: the run's notary account can no longer log in.
    assert system.manage("shell", "--no-imports", "-c", NOTARY_ACCOUNT).split() == ["False", "False", "0"]

    # A second run holds too: its captures are new (not replays) and the unit is for sale again.
    code, again, errors = selftest(system, "--url", system.url, "--out", str(tmp_path))
    assert code == 0, (errors, again)
    assert again["certificate_no"] != summary["certificate_no"] and "自检" in again["certificate_no"]


def test_a_step_that_does_not_hold_is_named_with_the_answer_and_the_exit_status_says_so(
    system: Deployment, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"

    code, summary, errors = selftest(system, "--url", nowhere, "--out", str(tmp_path))

    assert code == 1
    assert not summary["ok"]
    [step] = summary["steps"]
    assert step["name"] == "create_and_push" and not step["ok"] and nowhere in step["detail"]
    assert "自检未通过" in errors and "create_and_push" in errors
    assert not list(tmp_path.iterdir())


def test_an_unknown_office_is_refused_with_the_offices_there_are(system: Deployment, tmp_path: Path) -> None:
    code, summary, errors = selftest(system, "--url", system.url, "--office", "不存在的公证处")

    assert code == 1 and summary == {}
    assert "不存在的公证处" in errors and "ST01（自检测试公证处）" in errors
