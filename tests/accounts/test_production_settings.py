"""ECANCEL_ENV=production refuses a default secret key, demo mode and DEBUG (checked in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD_KEY = "k" * 30 + "-production-secret-of-enough-length"


def _import_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
    clean.update({"ECANCEL_DATA_DIR": str(tmp_path), "ECANCEL_ENV": "production"}, **env)
    return subprocess.run(
        [sys.executable, "-c", "import ecancel.config.settings"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "ECANCEL_SECRET_KEY"),
        ({"ECANCEL_SECRET_KEY": "too-short"}, "ECANCEL_SECRET_KEY"),
        ({"ECANCEL_SECRET_KEY": GOOD_KEY, "ECANCEL_DEMO": "1"}, "ECANCEL_DEMO"),
        ({"ECANCEL_SECRET_KEY": GOOD_KEY, "ECANCEL_DEBUG": "true"}, "ECANCEL_DEBUG"),
    ],
)
def test_production_refuses_unsafe_settings(tmp_path: Path, env: dict[str, str], problem: str) -> None:
    result = _import_settings(tmp_path, ECANCEL_ALLOWED_HOSTS="ecancel.example.gov.cn", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert problem in result.stderr


def test_production_starts_with_safe_settings(tmp_path: Path) -> None:
    result = _import_settings(tmp_path, ECANCEL_SECRET_KEY=GOOD_KEY, ECANCEL_ALLOWED_HOSTS="ecancel.example.gov.cn")
    assert result.returncode == 0, result.stderr
