"""The waiting page's poll while a check runs: read only, no row lock, no write (it comes every 1.5 s per phone)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from tests.buyers.journey import Phone, capture, case_for_buyers, photo, qr, upload

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

Capture = Callable[..., AbstractContextManager[Any]]


def test_polling_a_running_check_neither_locks_nor_writes(
    office: Any, django_capture_on_commit_callbacks: Capture, settings: Settings
) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(case_for_buyers(office)))
    phone.post("/b/choose/", {"buyer": 1})
    phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
    phone.post("/b/face/reference/", {"document_front": upload("id.jpg", photo())})
    camera = phone.get("/b/face/").content.decode()
    phone.client.post("/b/face/", capture(camera, 1))  # sent; its job is queued and not run yet

    with CaptureQueriesContext(connection) as seen:
        poll = phone.client.get("/b/poll/face/").json()

    assert poll["done"] is False and poll["next"] is None
    statements = [query["sql"] for query in seen.captured_queries]
    # one statement: the session with its journey, and the journey's latest face check
    assert len(statements) == 1, statements
    (read,) = statements
    assert "FOR UPDATE" not in read and read.lstrip().upper().startswith("SELECT"), read
    assert "buyers_journeycheck" in read and "identity_identitycheck" in read, read
    # nor does it load what only pages show: the parties (their ID numbers decrypted), the office, the case's papers,
    # and of the latest check anything but its status
    assert "notary_caseparty" not in read and "accounts_organisation" not in read, read
    assert "reason_text" not in read and "details" not in read, read
