"""ECANCEL_LOG_LEVEL in any case sets the root logger; an unknown name stops start-up naming the variable.

Checked in a fresh interpreter: logging is configured once, by django.setup().
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SETUP_AND_PRINT_LEVEL = "import logging, django; django.setup(); print(logging.getLevelName(logging.getLogger().level))"


def _start(tmp_path: Path, level: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
    clean.update(
        ECANCEL_DATA_DIR=str(tmp_path),
        ECANCEL_LOG_LEVEL=level,
        DJANGO_SETTINGS_MODULE="ecancel.config.settings",
    )
    return subprocess.run(
        [sys.executable, "-c", SETUP_AND_PRINT_LEVEL],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("given", "level"), [("debug", "DEBUG"), (" Warning ", "WARNING")])
def test_log_level_in_any_case(tmp_path: Path, given: str, level: str) -> None:
    result = _start(tmp_path, given)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == level


def test_unknown_log_level_names_the_variable(tmp_path: Path) -> None:
    result = _start(tmp_path, "loud")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ECANCEL_LOG_LEVEL" in result.stderr
