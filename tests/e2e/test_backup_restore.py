"""Issue 15 item 10: scripts/backup-restore-check backs up the demo with WAL archiving, restores it into a new
cluster past the base backup, and checks the audit chain there (its own throw-away clusters on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_backed_up_and_restored_keeps_its_audit_chain() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
    done = subprocess.run(
        [str(ROOT / "scripts" / "backup-restore-check")], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "backup-restore-check: OK" in done.stdout
    assert "2 个检查点相符" in done.stdout, "both checkpoints, the one after the base backup too, match the restore"
