from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import Settings


@pytest.fixture(autouse=True)
def own_checkpoint_dir(settings: Settings, tmp_path: Path) -> Path:
    """Each test its own checkpoint file: the data directory lives as long as the test process."""
    settings.ECANCEL_AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    return tmp_path
