"""Retention and purge (issue 15 item 9): a closed case's files go once their period has passed, counted from the
case's end; each run leaves a signed deletion record; a run is idempotent and survives being interrupted.

The clock is passed in (``NOW``), never waited on.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
from collections.abc import Mapping
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from pytest_django import Settings

from ecancel.accounts.models import NotaryOffice, Organisation, Role, User
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import audit_chain_extend, audit_chain_verify
from ecancel.buyers.models import JourneyUpload
from ecancel.config.settings import env_days
from ecancel.core.context import RequestContext
from ecancel.documents.models import StoredDocument
from ecancel.identity.evidence import evidence_put
from ecancel.identity.models import CheckEvidence, EvidenceRole
from ecancel.notary.models import CaseArchive, DeletionRecord, NotaryCase
from ecancel.notary.services.retention import (
    DataClass,
    ItemKind,
    deletion_record_verify,
    file_delete,
    purge_plan,
    purge_run,
)
from ecancel.notary.tasks import purge_expired
from ecancel.notary.transitions import CaseStatus
from tests.buyers.journey import add_documents
from tests.conftest import logged_in_client
from tests.factories import UserFactory
from tests.notary.helpers import make_case
from tests.notary.review_data import Evidence, picture, submitted_buyer, under_review
from tests.s3_server import S3Server

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 9, 1, 3, 30, tzinfo=dt.UTC)
CTX = RequestContext.system("test")
FACE_ROLES = {EvidenceRole.CAPTURE, EvidenceRole.PORTRAIT, EvidenceRole.REFERENCE, EvidenceRole.PREVIOUS}


@pytest.fixture
def notary(office: NotaryOffice) -> User:
    user: User = UserFactory(organisation=office.organisation, role=Role.NOTARY, password=None)
    return user


def case_with_evidence(
    office: NotaryOffice, seller: Organisation, *, video: bool = False
) -> tuple[NotaryCase, Evidence]:
    """A case whose buyer went the whole way (face path, or document + video), with the office's documents."""
    case = make_case(office, seller, buyers=1)
    add_documents(case)
    evidence = submitted_buyer(case, 1, video=picture((1, 2, 3)) if video else None)
    return under_review(case), evidence


def ended(case: NotaryCase, status: str, *, days_ago: int) -> NotaryCase:
    NotaryCase.objects.filter(pk=case.pk).update(status=status, closed_at=NOW - dt.timedelta(days=days_ago))
    case.refresh_from_db()
    return case


def stored_files(case: NotaryCase) -> dict[str, str]:
    """Every file of the case still named by a row: name → what it is."""
    files = {u.stored_name: f"upload {u.slot}" for u in JourneyUpload.objects.filter(journey__case=case)}
    files |= {
        e.stored_name: f"check file {e.role}"
        for e in CheckEvidence.objects.filter(check_run__case_ref=case.subject_ref).exclude(stored_name="")
    }
    files |= {d.content.name: f"document {d.kind}" for d in StoredDocument.objects.filter(subject_ref=case.subject_ref)}
    files.pop("", None)
    return files


def existing(case: NotaryCase) -> set[str]:
    return {name for name in stored_files(case) if default_storage.exists(name)}


def run(**options: Any) -> Any:
    return purge_run(now=NOW, ctx=CTX, **options)


def test_nothing_inside_its_period_is_touched(office: NotaryOffice, seller: Organisation) -> None:
    case, _ = case_with_evidence(office, seller)
    ended(case, CaseStatus.REFUSED, days_ago=29)  # faces go after 30 days
    before = existing(case)
    assert len(before) > 10

    result = run()

    assert result.records == [] and not DeletionRecord.objects.exists()
    assert existing(case) == before
    assert not CheckEvidence.objects.filter(purged_at__isnull=False).exists()
    assert not JourneyUpload.objects.filter(purged_at__isnull=False).exists()


def test_an_open_cases_evidence_is_never_purged_whatever_its_age(
    office: NotaryOffice, seller: Organisation, settings: Settings
) -> None:
    for name in ("FACES", "VIDEOS", "ID_PHOTOS", "DOCUMENTS", "CERTIFIED"):
        setattr(settings, f"ECANCEL_RETAIN_{name}", dt.timedelta(0))  # everything due the moment a case ends
    reviewing, _ = case_with_evidence(office, seller)
    certifying, _ = case_with_evidence(office, seller, video=True)
    NotaryCase.objects.filter(pk=certifying.pk).update(status=CaseStatus.CERTIFYING)
    # Uploaded long before the clock: age of the files does not count, only the end of the case.
    JourneyUpload.objects.update(at=NOW - dt.timedelta(days=3000))
    before = existing(reviewing) | existing(certifying)

    assert purge_plan(now=NOW).items == []
    assert run().records == []
    assert existing(reviewing) | existing(certifying) == before


def test_past_its_period_is_purged_and_the_review_page_says_so(
    office: NotaryOffice, seller: Organisation, notary: User
) -> None:
    case, evidence = case_with_evidence(office, seller)
    ended(case, CaseStatus.REFUSED, days_ago=31)
    face_files = [e for e in evidence.files if e.role in FACE_ROLES]
    face_names = [e.stored_name for e in face_files]
    id_photo = evidence.uploads["document_front"]

    result = run()

    assert len(result.records) == 1
    for file in face_files:
        file.refresh_from_db()
        assert file.purged_at == NOW and file.stored_name == ""
    assert not any(default_storage.exists(name) for name in face_names)
    # ID photos (180 days) and documents (1095 days) are still inside their periods.
    id_photo.refresh_from_db()
    assert id_photo.purged_at is None and default_storage.exists(id_photo.stored_name)

    client = logged_in_client(notary)
    page = client.get(f"/notary/review/{case.pk}/").content.decode()
    assert page.count("已按保存期限删除") >= 2  # both face checks' shown files
    assert f"/notary/review/{case.pk}/check-files/{face_files[0].pk}" not in page
    assert f"/notary/review/{case.pk}/uploads/{id_photo.pk}" in page
    gone = client.get(f"/notary/review/{case.pk}/check-files/{face_files[0].pk}")
    assert gone.status_code == 410 and "已按保存期限删除" in gone.content.decode()

    # Half a year after the end the ID photos and the signature go; three years after, the office's documents.
    purge_run(now=NOW + dt.timedelta(days=150), ctx=CTX)
    assert not JourneyUpload.objects.filter(journey__case=case, purged_at__isnull=True).exists()
    page = client.get(f"/notary/review/{case.pk}/").content.decode()
    assert f"/notary/review/{case.pk}/uploads/{id_photo.pk}" not in page
    assert client.get(f"/notary/review/{case.pk}/uploads/{id_photo.pk}").status_code == 410

    documents = list(StoredDocument.objects.filter(subject_ref=case.subject_ref))
    purge_run(now=NOW + dt.timedelta(days=1065), ctx=CTX)
    assert existing(case) == set()
    detail = client.get(f"/notary/cases/{case.pk}/").content.decode()
    assert detail.count("已按保存期限删除") == len(documents) == 3
    assert client.get(f"/notary/cases/{case.pk}/documents/{documents[0].pk}").status_code == 410
    # The rows still say what each file was.
    assert StoredDocument.objects.get(pk=documents[0].pk).sha256 == documents[0].sha256


def test_the_record_is_signed_lists_every_file_and_detects_tampering(
    office: NotaryOffice, seller: Organisation
) -> None:
    case, evidence = case_with_evidence(office, seller, video=True)
    ended(case, CaseStatus.REVOKED, days_ago=200)
    files = {(e.role, e.sha256) for e in evidence.files} | {("upload", u.sha256) for u in evidence.uploads.values()}

    (record,) = run().records

    assert deletion_record_verify(record) == []
    listed = {(i["kind"], i["object_id"]): i for i in record.items}
    assert {(i["sha256"]) for i in record.items} == {sha for _, sha in files}
    video = next(e for e in evidence.files if e.role == EvidenceRole.VIDEO)
    assert listed[(ItemKind.CHECK_FILE, str(video.pk))]["data_class"] == DataClass.VIDEO
    assert listed[(ItemKind.CHECK_FILE, str(video.pk))]["case_number"] == case.case_number
    assert record.counts == {"id_photo": 5, "video": 1}  # 4 uploads and the document check's photo; the video
    assert set(record.cutoffs) >= {"face/ended_without_certificate", "id_photo/ended_without_certificate"}
    # The statement is the deployment's: the audit checkpoint key signed these exact bytes.
    event = AuditEvent.objects.get(tag="notary.retention.purged")
    assert event.data["sha256"] == record.sha256 == hashlib.sha256(bytes(record.content)).hexdigest()
    audit_chain_extend()
    assert audit_chain_verify(checkpoints=[]).ok

    edited = DeletionRecord.objects.get(pk=record.pk)
    edited.content = bytes(record.content).replace(video.sha256.encode(), b"0" * 64)
    assert deletion_record_verify(edited)  # the content no longer matches its hash or its signature
    edited = DeletionRecord.objects.get(pk=record.pk)
    edited.items = edited.items[1:]
    assert deletion_record_verify(edited)  # the listing in the table no longer matches what was signed
    edited = DeletionRecord.objects.get(pk=record.pk)
    signature = bytearray(base64.b64decode(edited.signature))
    signature[0] ^= 1
    edited.signature = base64.b64encode(bytes(signature)).decode()
    assert [str(p) for p in deletion_record_verify(edited)] == ["删除记录的签名无效"]


def test_a_second_run_does_nothing(office: NotaryOffice, seller: Organisation) -> None:
    case, _ = case_with_evidence(office, seller)
    ended(case, CaseStatus.SUPERSEDED, days_ago=400)
    assert len(run().records) == 1
    events = AuditEvent.objects.count()

    again = run()

    assert again.records == [] and again.resumed == []
    assert DeletionRecord.objects.count() == 1 and AuditEvent.objects.count() == events


def test_an_interrupted_run_leaves_pages_whole_and_the_next_run_finishes_it(
    office: NotaryOffice, seller: Organisation, notary: User
) -> None:
    case, _ = case_with_evidence(office, seller)
    ended(case, CaseStatus.REFUSED, days_ago=400)
    names = stored_files(case)
    deleted: list[str] = []

    def dies_after_three(item: Mapping[str, Any]) -> bool:
        if len(deleted) == 3:
            raise RuntimeError("killed")
        deleted.append(item["file"])
        return file_delete(item)

    with pytest.raises(RuntimeError):
        run(delete_file=dies_after_three)

    (pending,) = DeletionRecord.objects.all()
    assert pending.completed_at is None and [str(p) for p in deletion_record_verify(pending)]
    # Every row already says purged: some files are gone, none is pointed at.
    assert stored_files(case) == {name: what for name, what in names.items() if what.startswith("document")}
    assert sum(default_storage.exists(name) for name in names) == len(names) - 3
    page = logged_in_client(notary).get(f"/notary/review/{case.pk}/")
    assert page.status_code == 200 and "已按保存期限删除" in page.content.decode()

    result = run()

    assert [r.pk for r in result.resumed] == [pending.pk] and result.records == []
    assert deletion_record_verify(DeletionRecord.objects.get(pk=pending.pk)) == []
    assert not any(default_storage.exists(n) for n, what in names.items() if not what.startswith("document"))
    assert AuditEvent.objects.filter(tag="notary.retention.purged").count() == 1
    assert run().records == [] and DeletionRecord.objects.count() == 1


def test_batches_make_one_record_each(office: NotaryOffice, seller: Organisation) -> None:
    case, evidence = case_with_evidence(office, seller)
    ended(case, CaseStatus.REFUSED, days_ago=40)
    faces = [e for e in evidence.files if e.role in FACE_ROLES]

    result = run(batch=3)

    assert [len(r.items) for r in result.records] == [3, 3, 2] and len(faces) == 8
    assert all(deletion_record_verify(r) == [] for r in result.records)


def test_a_certified_case_is_the_notarial_file_and_kept_unless_configured(
    office: NotaryOffice, seller: Organisation, settings: Settings
) -> None:
    case, _ = case_with_evidence(office, seller)
    archived = evidence_put(b"PK\x03\x04 archive", purpose="case_archive")
    archive = CaseArchive.objects.create(
        case=case,
        stored_name=archived.name,
        sha256=archived.sha256,
        size=archived.size,
        manifest={},
        manifest_sha256="",
    )
    ended(case, CaseStatus.CERTIFIED, days_ago=365 * 20)
    before = existing(case)

    assert run().records == []
    assert existing(case) == before and default_storage.exists(archived.name)

    settings.ECANCEL_RETAIN_CERTIFIED = dt.timedelta(days=365 * 10)
    (record,) = run().records
    assert existing(case) == set() and not default_storage.exists(archived.name)
    archive.refresh_from_db()
    assert archive.purged_at == NOW
    assert (ItemKind.ARCHIVE, str(archive.pk)) in {(i["kind"], i["object_id"]) for i in record.items}
    assert {i["outcome"] for i in record.items} == {"certified"}


def test_the_command_lists_purges_and_verifies(office: NotaryOffice, seller: Organisation) -> None:
    case, _ = case_with_evidence(office, seller)
    ended(case, CaseStatus.REFUSED, days_ago=4000)
    before = existing(case)

    out = io.StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert "试运行" in out.getvalue() and "人脸采集 8 个" in out.getvalue()
    assert existing(case) == before and not DeletionRecord.objects.exists()

    out = io.StringIO()
    call_command("purge", stdout=out)
    record = DeletionRecord.objects.get()
    assert record.sha256 in out.getvalue() and existing(case) == set()

    out = io.StringIO()
    call_command("purge", "--verify", stdout=out)
    assert "OK" in out.getvalue()
    DeletionRecord.objects.filter(pk=record.pk).update(counts={"face": 1})
    with pytest.raises(CommandError):
        call_command("purge", "--verify", stdout=io.StringIO())


def test_periods_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECANCEL_RETAIN_FACES_DAYS", "7")
    assert env_days("ECANCEL_RETAIN_FACES_DAYS", 30) == dt.timedelta(days=7)
    monkeypatch.setenv("ECANCEL_RETAIN_FACES_DAYS", "never")
    assert env_days("ECANCEL_RETAIN_FACES_DAYS", 30) is None
    monkeypatch.delenv("ECANCEL_RETAIN_FACES_DAYS")
    assert env_days("ECANCEL_RETAIN_FACES_DAYS", 30) == dt.timedelta(days=30)
    monkeypatch.setenv("ECANCEL_RETAIN_FACES_DAYS", "30d")
    with pytest.raises(Exception, match="number of days"):
        env_days("ECANCEL_RETAIN_FACES_DAYS", 30)


def test_beat_runs_the_purge_every_night(office: NotaryOffice, seller: Organisation, settings: Settings) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["notary-purge-expired"]["task"] == purge_expired.name
    case, _ = case_with_evidence(office, seller)
    NotaryCase.objects.filter(pk=case.pk).update(
        status=CaseStatus.REFUSED, closed_at=timezone.now() - dt.timedelta(days=31)
    )
    assert purge_expired() == 1
    assert DeletionRecord.objects.get().counts == {"face": 8}


def test_the_purge_removes_the_files_from_an_s3_bucket_working_from_the_rows(
    office: NotaryOffice, seller: Organisation, s3_server: S3Server, settings: Settings
) -> None:
    bucket = s3_server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage_setting(bucket)}
    case, _ = case_with_evidence(office, seller, video=True)
    ended(case, CaseStatus.REFUSED, days_ago=1096)  # past every period of a case without a certificate
    stored = existing(case)
    assert len(stored) > 5 and stored <= set(s3_server.keys(bucket))
    listed: list[str] = []
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    client.meta.events.register("before-parameter-build.s3.ListObjects", lambda params, **_: listed.append("x"))

    (record,) = run().records

    assert existing(case) == set() and not stored & set(s3_server.keys(bucket))
    assert listed == [], "the purge deletes what its rows name; it lists nothing"
    assert deletion_record_verify(record) == []
