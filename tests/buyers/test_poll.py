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
    # the session (with its journey) and the latest face check
    assert len(statements) == 2, statements
    assert not any("FOR UPDATE" in sql or not sql.lstrip().upper().startswith("SELECT") for sql in statements)
    # nor does it load what only pages show: the parties (their ID numbers decrypted), the office, the case's papers
    session_query = statements[0]
    assert "notary_caseparty" not in session_query and "accounts_organisation" not in session_query, session_query
    assert "reason_text" not in session_query, session_query
    # and of the latest check, only its status
    assert "details" not in statements[1], statements[1]
