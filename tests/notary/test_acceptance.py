"""受理 after intake commits: the office's documents, the QR code and case.accepted come from one idempotent step,
queued on commit and swept if its process died; meanwhile the case is 受理中 and the consoles say so."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from ecancel.accounts.models import NotaryOffice, Organisation, User
from ecancel.buyers.models import HandoffToken
from ecancel.core.context import RequestContext
from ecancel.documents.models import StoredDocument
from ecancel.exchange.messages import CaseAccepted, MaterialsPushed, MaterialsRepushed, RevokeRequested
from ecancel.exchange.services import outbox_put, relay_due
from ecancel.notary.models import NotaryCase
from ecancel.notary.services.acceptance import case_accept, cases_accept_pending
from ecancel.notary.transitions import CaseStatus
from tests.conftest import logged_in_client
from tests.messages import typed
from tests.notary.helpers import filing_pdfs, push_body, send, sent

pytestmark = pytest.mark.django_db

CTX = RequestContext.system("test")
DOCUMENT_KINDS = ["intake_record", "notarization_application", "notarization_notice"]


def deliver_only(seller: Organisation, office: NotaryOffice) -> NotaryCase:
    """A push through the exchange up to the committed intake, as when its process dies before the queued
    acceptance runs (a test's transaction never commits, so on-commit tasks never run here)."""
    files = filing_pdfs(seller)
    body = push_body(seller=seller, office=office.organisation, files=files)
    with transaction.atomic():
        outbox_put(
            sender=seller,
            recipient=office.organisation,
            body=typed(MaterialsPushed.TYPE, body),
            attachments=files,
        )
    while relay_due():
        pass
    return NotaryCase.objects.get(application_ref=body["application_ref"])


def documents_of(case: NotaryCase) -> list[str]:
    return sorted(StoredDocument.objects.filter(subject_ref=case.subject_ref).values_list("kind", flat=True))


def accepted_messages(office: NotaryOffice) -> list[dict[str, Any]]:
    return sent(office.organisation, CaseAccepted.TYPE)


def test_an_intake_whose_acceptance_never_ran_is_finished_once_by_the_sweep(
    seller: Organisation, office: NotaryOffice, clerk: User
) -> None:
    case = deliver_only(seller, office)
    assert case.status == CaseStatus.PREPARING
    assert documents_of(case) == [] and accepted_messages(office) == []
    assert not HandoffToken.objects.filter(case=case).exists()
    html = logged_in_client(clerk).get(f"/notary/cases/{case.pk}/").content.decode()
    assert "受理中（文书制作中）" in html and "文书正在制作（签章）中" in html

    assert cases_accept_pending(ctx=CTX) == 0, "within the grace period the queued task may still be running"
    assert cases_accept_pending(older_than=dt.timedelta(0), ctx=CTX) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYERS
    assert documents_of(case) == DOCUMENT_KINDS
    [accepted] = accepted_messages(office)
    assert (accepted["case_no"], accepted["case_ref"]) == (case.case_number, str(case.pk))
    assert HandoffToken.objects.filter(case=case, invalidated_at__isnull=True).count() == 1

    # The sweep again, and the queued task arriving late: nothing more.
    assert cases_accept_pending(older_than=dt.timedelta(0), ctx=CTX) == 0
    assert case_accept(case_id=case.pk, ctx=CTX) is False
    assert documents_of(case) == DOCUMENT_KINDS
    assert len(accepted_messages(office)) == 1 and HandoffToken.objects.filter(case=case).count() == 1


def test_the_task_queued_on_commit_accepts_the_case(
    seller: Organisation, office: NotaryOffice, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case = deliver_only(seller, office)
    assert callbacks, "the intake queued nothing on commit"
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYERS
    assert documents_of(case) == DOCUMENT_KINDS and len(accepted_messages(office)) == 1


def test_a_case_revoked_while_its_documents_are_prepared_gets_none(seller: Organisation, office: NotaryOffice) -> None:
    case = deliver_only(seller, office)
    send(
        sender=seller,
        recipient=office.organisation,
        message_type=RevokeRequested.TYPE,
        body={
            "application_ref": str(case.application_ref),
            "version": 1,
            "reason": "买受人电话有误",
            "requested_at": case.received_at.isoformat(),
            "requested_by": "黄晓珺",
        },
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.REVOKED
    assert case_accept(case_id=case.pk, ctx=CTX) is False
    assert cases_accept_pending(older_than=dt.timedelta(0), ctx=CTX) == 0
    assert documents_of(case) == [] and accepted_messages(office) == []
    assert len(sent(office.organisation, "case.revoked")) == 1


def test_a_repush_while_the_first_is_prepared_supersedes_it_without_documents(
    seller: Organisation, office: NotaryOffice, push: Any
) -> None:
    first = deliver_only(seller, office)
    push(
        application_ref=first.application_ref,
        version=2,
        changes=[{"field": "applicants.1.phone", "label": "买受人的联系电话", "before": "1390", "after": "1391"}],
        message_type=MaterialsRepushed.TYPE,
    )
    first.refresh_from_db()
    second = NotaryCase.objects.get(application_ref=first.application_ref, application_version=2)
    assert (first.status, second.status) == (CaseStatus.SUPERSEDED, CaseStatus.AWAITING_BUYERS)
    assert documents_of(first) == [] and documents_of(second) == DOCUMENT_KINDS
    assert [m["case_no"] for m in accepted_messages(office)] == [second.case_number]


def test_the_sweep_is_scheduled() -> None:
    from django.conf import settings

    from ecancel.notary.tasks import accept_pending_cases

    assert settings.CELERY_BEAT_SCHEDULE["notary-accept-pending"]["task"] == accept_pending_cases.name
