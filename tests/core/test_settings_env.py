from pathlib import Path

from django.conf import settings
from django.db import connection


def test_data_dir_is_the_test_one() -> None:
    assert "ecancel-test-" in str(settings.DATA_DIR)
    assert Path(settings.DATA_DIR).is_dir()


def test_database_matches_the_requested_engine(db: None) -> None:
    import os

    expected = "postgresql" if os.environ.get("ECANCEL_TEST_POSTGRES") == "1" else "sqlite"
    assert connection.vendor == expected
