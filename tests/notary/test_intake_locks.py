"""An intake holds no lock while it checks the pushed PDFs or signs the office's documents (PostgreSQL).

Held inside each slow step in turn, the intake lets a staff login and another case-number allocation at the
same office (the row lock the intake's transaction takes) complete. Row locks only exist on PostgreSQL
(``ECANCEL_TEST_POSTGRES=1``); on SQLite this skips.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.documents import services as documents_services
from ecancel.documents import verification
from ecancel.documents.models import StoredDocument
from ecancel.exchange.messages import CaseAccepted, MaterialsPushed
from ecancel.notary.models import NotaryCase
from ecancel.notary.services.intake import case_number_allocate
from ecancel.notary.transitions import CaseStatus
from tests.factories import TEST_PASSWORD, UserFactory
from tests.notary.helpers import filing_pdfs, push_body, send, sent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Hold:
    """Wraps ``function`` so its first call waits, inside it, until released."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.reached, self.release = threading.Event(), threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.reached.is_set():
            self.reached.set()
            self.release.wait()
        return self.function(*args, **kwargs)


def in_thread(work: Callable[[], object], into: list[object]) -> threading.Thread:
    def run() -> None:
        try:
            into.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def allocate_a_number(office: NotaryOffice) -> str:
    with transaction.atomic():
        return case_number_allocate(office=office, at=timezone.now())[2]


def others_go_on(seller: Organisation, office: NotaryOffice) -> None:
    """A login at the seller and a case number at the office, each committed while the intake is held."""
    user = UserFactory(organisation=seller)
    done: list[object] = []
    login = in_thread(
        lambda: Client().post("/login/", {"username": user.username, "password": TEST_PASSWORD}).status_code, done
    )
    number = in_thread(lambda: allocate_a_number(office), done)
    # Generous limits only so a regression fails instead of hanging: nothing here waits on the clock.
    login.join(timeout=60)
    number.join(timeout=60)
    assert not login.is_alive() and not number.is_alive(), "blocked behind the intake"
    assert 302 in done and any(isinstance(d, str) and "中证受字" in d for d in done), done


def test_logins_and_office_writes_go_on_while_an_intake_verifies_and_signs(
    seller: Organisation, office: NotaryOffice, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    verifying = Hold(verification.verify_pdf)
    signing = Hold(documents_services.sign_rendered)
    monkeypatch.setattr(verification, "verify_pdf", verifying)
    monkeypatch.setattr(documents_services, "sign_rendered", signing)
    files = filing_pdfs(seller)
    body = push_body(seller=seller, office=office.organisation, files=files)
    pushed: list[object] = []
    # Committed for real here: the relay and then the case's acceptance run on commit, in this thread.
    push = in_thread(
        lambda: send(
            sender=seller,
            recipient=office.organisation,
            message_type=MaterialsPushed.TYPE,
            body=body,
            attachments=files,
        ),
        pushed,
    )
    try:
        assert verifying.reached.wait(timeout=120), "the intake never reached its check of the PDFs"
        others_go_on(seller, office)
        assert not signing.reached.is_set()
        verifying.release.set()
        assert signing.reached.wait(timeout=120), "the accepted case never reached its signing step"
        case = NotaryCase.objects.get(application_ref=body["application_ref"])
        assert case.status == CaseStatus.PREPARING
        others_go_on(seller, office)
        assert not pushed, "the intake is still held in its signing step"
    finally:
        verifying.release.set()
        signing.release.set()
        push.join()
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYERS
    assert StoredDocument.objects.filter(subject_ref=case.subject_ref).count() == 3
    assert len(sent(office.organisation, CaseAccepted.TYPE)) == 1
