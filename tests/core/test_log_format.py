"""ECANCEL_LOG_FORMAT=json makes every line one JSON object; plain stays the default; a wrong value or a metrics
token too short to be secret stops start-up naming the variable.

Checked in a fresh interpreter: logging is configured once, by django.setup().
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SETUP_AND_LOG = "import logging, django; django.setup(); logging.getLogger('ecancel.check').warning('启动 %s', 'ok')"


def _start(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
    clean.update(ECANCEL_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="ecancel.config.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", SETUP_AND_LOG], env=clean, capture_output=True, text=True, timeout=60, check=False
    )


def test_json_format_writes_one_object_per_line(tmp_path: Path) -> None:
    result = _start(tmp_path, ECANCEL_LOG_FORMAT=" JSON ")
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    entry = json.loads(line)
    assert entry["message"] == "启动 ok"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "ecancel.check"
    assert entry["request_id"] is None
    assert entry["time"].endswith("+00:00")


def test_plain_format_is_the_default(tmp_path: Path) -> None:
    result = _start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.rstrip().endswith("WARNING ecancel.check 启动 ok")


@pytest.mark.parametrize(
    ("variable", "value"), [("ECANCEL_LOG_FORMAT", "xml"), ("ECANCEL_METRICS_TOKEN", "short-token")]
)
def test_bad_value_stops_start_up_naming_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    result = _start(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
