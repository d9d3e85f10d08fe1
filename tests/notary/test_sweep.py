"""Files of an intake whose transaction rolled back are swept; files of received cases stay."""

from __future__ import annotations

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.core.context import RequestContext
from ecancel.exchange.messages import MaterialsPushed
from ecancel.notary.models import MATERIALS_FOLDER, NotaryCase, ReceivedMaterial
from ecancel.notary.services.files import material_files_sweep
from ecancel.notary.services.intake import Intake, case_intake, materials_verdict
from tests.notary.helpers import filing_pdfs, push_body

pytestmark = pytest.mark.django_db


def stored_files() -> set[str]:
    def walk(folder: str) -> set[str]:
        if not default_storage.exists(folder):
            return set()
        directories, files = default_storage.listdir(folder)
        return {f"{folder}/{f}" for f in files} | {n for d in directories for n in walk(f"{folder}/{d}")}

    return walk(MATERIALS_FOLDER)


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


def test_the_periodic_task_is_scheduled_and_runs() -> None:
    from django.conf import settings

    from ecancel.notary.tasks import sweep_received_files

    assert settings.CELERY_BEAT_SCHEDULE["notary-sweep-files"]["task"] == sweep_received_files.name
    assert sweep_received_files.delay().get() == 0
