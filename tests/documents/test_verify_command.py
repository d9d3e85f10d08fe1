"""``ecancel verify_pdf FILE``: the report in the deployment's language (or ECANCEL_LANGUAGE); exit 0 valid, 1 not
valid, 2 unreadable."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from django.conf import settings
from django.core.management import CommandError, call_command

from ecancel.accounts.models import Organisation
from ecancel.documents.signing import sign_pdf
from tests.consoles.test_page_languages import foreign_words
from tests.documents.signing_support import append_page, make_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_file(tmp_path: Path, developer: Organisation) -> Path:
    path = tmp_path / "signed.pdf"
    path.write_bytes(sign_pdf(make_pdf(), organisation=developer, level="B-LTA"))
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_pdf", *args, stdout=out)
    return out.getvalue()


def test_a_valid_document_prints_the_report_and_returns_normally(signed_file: Path, developer: Organisation) -> None:
    out = run(str(signed_file))

    assert f"签署机构：{developer.name} ({developer.developer.credit_code})" in out
    assert "时间戳：20" in out and "ecancel 本地时间戳服务" in out
    assert "级别：PAdES B-LTA" in out
    assert "签署后未被改动：是" in out
    assert "证书可信：是" in out
    assert out.rstrip().endswith("结论：有效")


def test_json_output(signed_file: Path) -> None:
    report = json.loads(run(str(signed_file), "--json"))

    assert report["valid"] is True
    assert report["signatures"][0]["level"] == "B-LTA"


@pytest.mark.parametrize(("language", "verdict"), [("en", "Result: NOT VALID"), ("zh-hant", "結論：無效")])
def test_the_report_speaks_one_language(
    language: str, verdict: str, signed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(append_page(signed_file.read_bytes()))
    monkeypatch.setenv("ECANCEL_LANGUAGE", language)
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_pdf", str(modified), stdout=out)
    printed = out.getvalue() + str(failed.value)
    assert verdict in printed
    # Certificate names (the issuer, the time-stamping authority) are data, like the signer's name.
    assert not foreign_words(re.sub(r"ecancel 本地\S+", "", printed), language)


def test_a_modified_document_exits_1_with_the_reason(signed_file: Path, tmp_path: Path) -> None:
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(append_page(signed_file.read_bytes()))
    out = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("verify_pdf", str(modified), stdout=out)

    assert failed.value.returncode == 1
    assert "结论：无效" in out.getvalue()
    assert "签名后文件被追加修改" in out.getvalue()


def test_an_unsigned_document_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "unsigned.pdf"
    path.write_bytes(make_pdf())

    with pytest.raises(CommandError) as failed:
        run(str(path))
    assert failed.value.returncode == 1


@pytest.mark.parametrize("content", [None, b"this is not a pdf"])
def test_a_missing_or_unreadable_file_exits_2(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "input.pdf"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(CommandError) as failed:
        run(str(path))
    assert failed.value.returncode == 2
    assert ("无法读取文件" if content is None else "不是有效的 PDF") in str(failed.value)


@pytest.mark.slow
def test_exit_codes_of_the_real_command(signed_file: Path, tmp_path: Path) -> None:
    """The installed ``ecancel`` entry point, run as an operator would, on this deployment's data directory."""
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(append_page(signed_file.read_bytes()))
    env = {
        **os.environ,
        "ECANCEL_DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": "ecancel.config.settings",
    }
    ecancel = [sys.executable, "-m", "ecancel.manage", "verify_pdf"]

    valid = subprocess.run([*ecancel, str(signed_file)], env=env, capture_output=True, text=True, timeout=120)
    invalid = subprocess.run([*ecancel, str(modified)], env=env, capture_output=True, text=True, timeout=120)

    assert valid.returncode == 0, valid.stderr
    assert "结论：有效" in valid.stdout
    assert invalid.returncode == 1
    assert "结论：无效" in invalid.stdout


def test_export_trust_roots_writes_the_deployment_root(tmp_path: Path) -> None:
    out = tmp_path / "roots.pem"
    call_command("export_trust_roots", "--out", str(out), stderr=io.StringIO())

    roots = x509.load_pem_x509_certificates(out.read_bytes())
    assert len(roots) == 1
    assert roots[0].subject.rfc4514_string().startswith("CN=ecancel 本地根证书")
    assert "# SHA-256 " in out.read_text()
