"""Files of a transaction that rolled back (an intake's materials, identity evidence) are swept; files rows hold
stay."""

from __future__ import annotations

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.audit.models import AuditEvent
from ecancel.buyers.models import JourneyUpload
from ecancel.core.context import RequestContext
from ecancel.exchange.messages import MaterialsPushed
from ecancel.identity.evidence import EVIDENCE_FOLDER, evidence_get, evidence_names, evidence_put
from ecancel.identity.models import CheckEvidence
from ecancel.notary.models import MATERIALS_FOLDER, NotaryCase, ReceivedMaterial
from ecancel.notary.services.files import evidence_files_sweep, material_files_sweep
from ecancel.notary.services.intake import Intake, case_intake, materials_verdict
from tests.notary.helpers import filing_pdfs, make_case, push_body
from tests.notary.review_data import under_review

pytestmark = pytest.mark.django_db


def stored_files(top: str = MATERIALS_FOLDER) -> set[str]:
    def walk(folder: str) -> set[str]:
        if not default_storage.exists(folder):
            return set()
        directories, files = default_storage.listdir(folder)
        return {f"{folder}/{f}" for f in files} | {n for d in directories for n in walk(f"{folder}/{d}")}

    return walk(top)


def test_rolled_back_intake_leaves_files_that_the_sweep_removes(
    received_case: NotaryCase, seller: Organisation, office: NotaryOffice
) -> None:
    kept = {m.content.name for m in received_case.materials.all()}
    files = filing_pdfs(seller)
    body = MaterialsPushed.model_validate(push_body(seller=seller, office=office.organisation, files=files))
    intake = Intake(message_id=uuid.uuid4(), sender=seller, recipient=office.organisation, body=body, files=files)
    checked = materials_verdict(intake)
    before = stored_files()
    with pytest.raises(RuntimeError), transaction.atomic():
        case_intake(intake=intake, checked=checked, ctx=RequestContext.system("test"))
        raise RuntimeError("the inbox failed after the handler")
    orphans = stored_files() - before
    assert len(orphans) == len(files) and not ReceivedMaterial.objects.filter(content__in=orphans).exists()

    assert material_files_sweep(ctx=RequestContext.system("test")) == []  # too young: may be an intake in flight
    out = StringIO()
    call_command("sweep_notary_files", "--minutes", "0", stdout=out)
    # Earlier tests' rows were rolled back too, so their files go as well: only referenced files remain.
    assert "orphaned received-material files removed" in out.getvalue()
    assert stored_files() == set(ReceivedMaterial.objects.values_list("content", flat=True))
    assert kept <= stored_files() and not orphans & stored_files()
    assert material_files_sweep(older_than=dt.timedelta(0), ctx=RequestContext.system("test")) == []


def test_identity_evidence_of_a_rolled_back_transaction_is_swept_and_evidence_rows_hold_stays(
    office: NotaryOffice, seller: Organisation
) -> None:
    under_review(make_case(office, seller))
    held = set(JourneyUpload.objects.values_list("stored_name", flat=True)) | set(
        CheckEvidence.objects.values_list("stored_name", flat=True)
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        # As a buyer's upload does: the file first, then its row; here the transaction fails in between.
        orphan = evidence_put(b"\xff\xd8 a face that was never recorded", purpose="buyer_holding_id").name
        raise RuntimeError("the request failed after the file was written")
    assert orphan in stored_files(EVIDENCE_FOLDER) and held <= stored_files(EVIDENCE_FOLDER)
    now = dt.datetime.now(dt.UTC)

    assert evidence_files_sweep(now=now, ctx=RequestContext.system("test")) == []  # too young: may be in flight
    removed = evidence_files_sweep(now=now + dt.timedelta(hours=2), ctx=RequestContext.system("test"))

    assert removed == [orphan]
    assert stored_files(EVIDENCE_FOLDER) == held == set(evidence_names())
    for name in held:
        assert evidence_get(name, actor=None, organisation=None, ctx=None)
    assert AuditEvent.objects.filter(tag="identity.evidence.swept", data__names=[orphan]).exists()


def test_the_sweep_reads_only_the_recent_days_of_each_purpose() -> None:
    old = evidence_put(b"from last month", purpose="face_frame", now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)).name
    recent = evidence_put(b"from today", purpose="face_frame").name
    assert old.startswith("identity/face_frame/2026/11/01/")
    now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert evidence_files_sweep(now=now, ctx=RequestContext.system("test")) == [recent]
    assert old in stored_files(EVIDENCE_FOLDER), "outside the look-back: left to `sweep_notary_files --days`"
    assert evidence_files_sweep(now=now, lookback=dt.timedelta(days=60), ctx=RequestContext.system("test")) == [old]


def test_the_periodic_task_is_scheduled_and_runs() -> None:
    from django.conf import settings

    from ecancel.notary.tasks import sweep_received_files

    assert settings.CELERY_BEAT_SCHEDULE["notary-sweep-files"]["task"] == sweep_received_files.name
    assert sweep_received_files.delay().get() == 0
