"""/readyz checks the database, the broker and the file storage; a failure is named, never explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from ecancel.core.storage import PROBE_FOLDER, folder_names


def _probe_files() -> list[str]:
    return folder_names(PROBE_FOLDER)


@pytest.mark.django_db
def test_ready_when_database_broker_and_storage_answer(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
        "failed": [],
    }
    assert _probe_files() == []


@pytest.mark.django_db
def test_broken_storage_is_503_naming_storage_without_its_path(client: Client, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "secret-volume-name"
    not_a_folder.write_bytes(b"a file where the storage expects a folder")
    broken = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": not_a_folder}},
    }
    with override_settings(STORAGES=broken):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["failed"] == ["storage"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"].startswith("error: ")
    assert "secret-volume-name" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
