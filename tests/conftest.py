"""Test-wide set-up: every run gets its own data directory, and tasks run inline."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("ECANCEL_DATA_DIR", tempfile.mkdtemp(prefix="ecancel-test-"))
os.environ.setdefault("ECANCEL_TASKS_EAGER", "true")
