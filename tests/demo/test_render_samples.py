"""ecancel render_samples: every document of a demo case, rendered, signed and written to a folder."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from ecancel.accounts.models import Organisation
from ecancel.documents.render import TEMPLATES
from tests.documents.conftest import pdf_text
from tests.factories import BuyerFactory, DeveloperFactory, FiledContractFactory, NotaryOfficeFactory

pytestmark = pytest.mark.django_db


def run(target: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("render_samples", str(target), *args, stdout=out)
    return out.getvalue()


def check_output(target: Path, output: str) -> dict[str, bytes]:
    files = sorted(target.glob("*.pdf"))
    assert [f.name.split("-", 1)[1].removesuffix(".pdf") for f in files] == [
        "contract",
        "cancellation_form",
        "termination_agreement",
        "notarization_application",
        "notarization_notice",
        "intake_record",
        "certificate",
    ]
    assert set(TEMPLATES) == {f.name.split("-", 1)[1].removesuffix(".pdf") for f in files}
    for file in files:
        content = file.read_bytes()
        assert f"{len(content):,} bytes" in output
        assert hashlib.sha256(content).hexdigest() in output
    return {f.name.split("-", 1)[1].removesuffix(".pdf"): f.read_bytes() for f in files}


@pytest.mark.slow
def test_builtin_case(tmp_path: Path) -> None:
    from ecancel.documents.verification import verify_pdf

    output = run(tmp_path, "--builtin")
    assert "内置演示数据" in output
    documents = check_output(tmp_path, output)
    for name, pdf in documents.items():
        report = verify_pdf(pdf)
        assert report.valid, (name, report.problems)
    assert [s.level for s in verify_pdf(documents["certificate"]).signatures] == ["B-LTA"]
    intake = pdf_text(documents["intake_record"])
    assert hashlib.sha256(documents["cancellation_form"]).hexdigest() in intake
    assert hashlib.sha256(documents["termination_agreement"]).hexdigest() in intake


def test_seeded_contract_is_used_when_present(tmp_path: Path) -> None:
    seller: Organisation = DeveloperFactory(organisation__name="中山市种子置业有限公司（演示）").organisation
    contract = FiledContractFactory(seller=seller, contract_no="ZS-SEED-0001")
    BuyerFactory(contract=contract, name="赵𠮷", position=1)
    office = NotaryOfficeFactory(organisation__name="中山市种子公证处（演示）", certificate_prefix="粤中种证字")

    output = run(tmp_path, "--contract", "ZS-SEED-0001")
    assert "ZS-SEED-0001" in output
    documents = check_output(tmp_path, output)
    certificate = pdf_text(documents["certificate"])
    assert "(2026)粤中种证字第00012号" in certificate
    assert "赵𠮷" in certificate and office.organisation.name in certificate
    assert len(PdfReader(io.BytesIO(documents["certificate"])).pages) >= 6


def test_an_unknown_contract_is_refused(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ZS-NONE"):
        run(tmp_path, "--contract", "ZS-NONE")
