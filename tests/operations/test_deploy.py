"""Issue 15 items 1 and 2: the sample env file, and ``ecancel check --deploy`` naming each production fault."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from pytest_django import Settings

from ecancel.audit.checkpoints import signing_key
from ecancel.config.settings import database_from_url
from ecancel.exchange.keys import private_key, secrets_box
from ecancel.operations.checks import production_faults
from tests.factories import DeveloperFactory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "ecancel.env.example"


def example_filled_in(tmp_path: Path) -> dict[str, str]:
    """The sample's variables with every CHANGE-ME replaced and the paths moved under ``tmp_path``."""
    values: dict[str, str] = {}
    for line in EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    values["ECANCEL_SECRET_KEY"] = secrets.token_urlsafe(64)
    values["ECANCEL_KEY_RING"] = json.dumps({"keys": [base64.b64encode(os.urandom(32)).decode()]})
    values["ECANCEL_DATA_DIR"] = str(tmp_path / "data")
    values["ECANCEL_KEYS_DIR"] = str(tmp_path / "keys")
    # A PostgreSQL that is not there: the check still runs and says what it could not look at.
    values["ECANCEL_DATABASE_URL"] = "postgresql://ecancel:secret@127.0.0.1:9/ecancel?sslmode=disable&connect_timeout=2"
    values = {name: value.replace("CHANGE-ME", "filled-in") for name, value in values.items()}
    return values


def ecancel(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-m", "ecancel.manage", *arguments],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_sample_env_covers_what_a_deployment_must_set() -> None:
    names = set(re.findall(r"^(ECANCEL_[A-Z0-9_]+)=", EXAMPLE.read_text(), re.M))
    assert {
        "ECANCEL_DATABASE_URL",
        "ECANCEL_BROKER_URL",
        "ECANCEL_HOSTED_SIDES",
        "ECANCEL_PUBLIC_URL",
        "ECANCEL_KEYS_DIR",
        "ECANCEL_KEY_RING",
        "ECANCEL_SIGNING_BACKEND",
        "ECANCEL_TSA_BACKEND",
        "ECANCEL_TSA_URL",
        "ECANCEL_SECRET_KEY",
        "ECANCEL_S3_BUCKET",
        "ECANCEL_S3_ENDPOINT_URL",
        "ECANCEL_S3_ACCESS_KEY_ID",
        "ECANCEL_S3_SECRET_ACCESS_KEY",
    } <= names


def test_the_sample_env_filled_in_passes_check_deploy(tmp_path: Path) -> None:
    env = example_filled_in(tmp_path)
    # The keys are made on purpose first (on the embedded database: the sample's PostgreSQL is not there).
    setup = {**env, "ECANCEL_DATABASE_URL": ""}
    assert ecancel(setup, "migrate", "--verbosity", "0").returncode == 0
    made = ecancel(setup, "keys_init")
    assert made.returncode == 0, made.stderr
    assert made.stdout.count("已生成") == 2

    checked = ecancel(env, "check", "--deploy")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ecancel.E" not in checked.stdout + checked.stderr
    assert "security." not in checked.stdout + checked.stderr
    assert "ecancel.W011" in checked.stderr, "the unreachable database is said, not hidden"


def test_check_deploy_names_each_fault(tmp_path: Path) -> None:
    env = {
        "ECANCEL_ENV": "production",
        "ECANCEL_SECRET_KEY": secrets.token_urlsafe(64),
        "ECANCEL_ALLOWED_HOSTS": "ecancel.example.gov.cn",
        "ECANCEL_PUBLIC_URL": "http://ecancel.example.gov.cn",
        "ECANCEL_DATA_DIR": str(tmp_path),
        "ECANCEL_APP_SERVERS": "2",
    }
    assert ecancel(env, "migrate", "--verbosity", "0").returncode == 0

    checked = ecancel(env, "check", "--deploy")

    assert checked.returncode != 0
    found = set(re.findall(r"ecancel\.E\d{3}", checked.stderr))
    assert found == {
        "ecancel.E001",  # local CA
        "ecancel.E002",  # local timestamp service
        "ecancel.E010",  # key ring made on first use
        "ecancel.E011",  # exchange and audit keys made on first use
        "ecancel.E020",  # local files with two app servers
        "ecancel.E021",  # SQLite job queue with two app servers
        "ecancel.E030",  # not HTTPS
    }, checked.stderr
    assert "Traceback" not in checked.stderr


def test_local_pki_may_be_allowed_on_purpose(tmp_path: Path) -> None:
    env = {
        "ECANCEL_ENV": "production",
        "ECANCEL_SECRET_KEY": secrets.token_urlsafe(64),
        "ECANCEL_ALLOWED_HOSTS": "ecancel.example.gov.cn",
        "ECANCEL_DATA_DIR": str(tmp_path),
        "ECANCEL_ALLOW_LOCAL_PKI": "1",
    }
    checked = ecancel(env, "check", "--deploy")
    assert "ecancel.E001" not in checked.stderr and "ecancel.E002" not in checked.stderr


@pytest.mark.django_db
def test_a_hosted_organisations_missing_exchange_key_is_named(settings: Settings, tmp_path: Path) -> None:
    settings.PRODUCTION = True
    settings.ECANCEL_ALLOW_LOCAL_PKI = True
    settings.ECANCEL_EVIDENCE_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.ECANCEL_PUBLIC_URL = "https://ecancel.example.gov.cn"
    settings.SECURE_HSTS_SECONDS = 3600
    settings.ECANCEL_REFUSE_PLAINTEXT_FILES = True
    settings.ECANCEL_KEYS_DIR = tmp_path
    secrets_box()
    signing_key()
    seller = DeveloperFactory().organisation

    (fault,) = production_faults()
    assert fault.id == "ecancel.E011" and f"{seller.pk}.ed25519" in fault.msg

    private_key(seller.pk)
    assert production_faults() == []

    settings.ECANCEL_EXCHANGE_KEYS_BACKEND = "ecancel.exchange.keys.MemoryExchangeKeys"
    settings.ECANCEL_KEY_RING = '{"keys": ["not a key"]}'
    assert {fault.id for fault in production_faults()} == {"ecancel.E011", "ecancel.E012", "ecancel.E013"}


@pytest.mark.django_db
def test_each_fault_and_its_remedy_read_in_chinese_first_with_english_beside(
    settings: Settings, tmp_path: Path
) -> None:
    settings.PRODUCTION = True
    settings.ECANCEL_KEYS_DIR = tmp_path
    settings.ECANCEL_APP_SERVERS = 2
    settings.ECANCEL_PUBLIC_URL = "http://ecancel.example.gov.cn"
    settings.SECURE_HSTS_SECONDS = 0
    settings.ECANCEL_EXCHANGE_KEYS_BACKEND = "ecancel.exchange.keys.MemoryExchangeKeys"
    faults = production_faults()
    assert len(faults) >= 8
    for fault in faults:
        for text in (fault.msg, fault.hint or ""):
            chinese, _, english = text.partition(" / ")
            assert re.search("[\u4e00-\u9fff]", chinese) and re.search("[A-Za-z]{4}", english), (fault.id, text)


def test_outside_production_the_checks_stay_silent() -> None:
    assert production_faults() == []


def test_database_url_options_survive() -> None:
    parsed = database_from_url("postgresql://u:p%40ss@db.example:5433/ecancel?sslmode=require&connect_timeout=5")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert (parsed["USER"], parsed["PASSWORD"], parsed["HOST"], parsed["PORT"]) == ("u", "p@ss", "db.example", 5433)
    assert parsed["OPTIONS"] == {
        "sslmode": "require",
        "connect_timeout": 5,
        "server_side_binding": True,
        "prepare_threshold": 2,
    }
    without = database_from_url("postgresql://u@db.example/ecancel?sslmode=require", prepared_statements=False)
    assert without["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts() -> None:
    policy = Client().get("/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_no_template_has_an_inline_script_or_handler() -> None:
    offenders = []
    for template in (ROOT / "src" / "ecancel").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", text) or re.search(r"\son[a-z]+=\"", text):
            offenders.append(str(template.relative_to(ROOT)))
    assert not offenders, offenders
