"""Settings for the test run: a private data directory per process, tasks inline, and a
throw-away PostgreSQL server when ECANCEL_TEST_POSTGRES=1. Environment first, then the real settings."""

import os
import tempfile

os.environ["ECANCEL_DATA_DIR"] = tempfile.mkdtemp(prefix="ecancel-test-")
os.environ.setdefault("ECANCEL_TASKS_EAGER", "true")
os.environ.setdefault("ECANCEL_DEMO", "true")
if os.environ.get("ECANCEL_TEST_POSTGRES") == "1" and not os.environ.get("ECANCEL_DATABASE_URL"):
    from tests.postgres_server import start as start_postgres

    os.environ["ECANCEL_DATABASE_URL"] = start_postgres()

from ecancel.config.settings import *  # noqa: F403
