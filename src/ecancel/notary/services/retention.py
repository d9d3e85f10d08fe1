"""Retention: a closed case's files are deleted once their period has passed, and every run is recorded and signed.

Periods (``ECANCEL_RETAIN_*``) count from the moment the case ended (``NotaryCase.closed_at``: certified, refused,
revoked or superseded), never from an upload, so an open case's evidence is never touched. A certified case's
files are its notarial file and share one period; a case that ended without a certificate has one per data class.

A run, safe to repeat and to kill at any point:

1. A pending record (a run killed after step 2) is finished first: its remaining files are removed and it is signed.
2. One transaction marks the due rows purged (their file names emptied, documents given a ``DocumentPurge``) and
   writes a ``DeletionRecord`` listing each one with the SHA-256 and size of its file. From this commit on every
   page says 「已按保存期限删除」; none points at a file that is gone without saying so.
3. The files are removed (a file already gone is fine), then the record is completed: its canonical JSON is signed
   with the deployment's audit checkpoint key (``audit.checkpoints``: the statement is the deployment's, as a
   checkpoint is) and ``notary.retention.purged`` is audited with the record's hash.

Audit events are not purged: they hold no pictures or videos (only hashes, masked names and numbers), they are what
shows that a deletion happened, and the checkpoints and the peers' copies of them fix the chain's length.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from ecancel.audit.checkpoints import public_key_b64, signing_key
from ecancel.audit.services import record_event
from ecancel.buyers.models import JourneyUpload
from ecancel.core.context import RequestContext
from ecancel.core.errors import Text
from ecancel.documents.models import StoredDocument
from ecancel.documents.services import document_file_delete, document_purge_mark
from ecancel.identity.evidence import evidence_delete
from ecancel.identity.models import CheckEvidence, EvidenceRole
from ecancel.notary.models import CaseArchive, DeletionRecord, NotaryCase
from ecancel.notary.transitions import CaseStatus

RECORD_FORMAT = "ecancel.deletion-record/1"
CASES_PER_QUERY = 200


class DataClass(models.TextChoices):
    FACE = "face", _("人脸采集")
    VIDEO = "video", _("视频")
    ID_PHOTO = "id_photo", _("证件照片与签名")
    DOCUMENT = "document", _("文书与归档")


class Outcome(models.TextChoices):
    CERTIFIED = "certified", _("已出证")
    ENDED = "ended_without_certificate", _("未出证结案")


OUTCOME_STATUSES: dict[Outcome, tuple[CaseStatus, ...]] = {
    Outcome.CERTIFIED: (CaseStatus.CERTIFIED,),
    Outcome.ENDED: (CaseStatus.REFUSED, CaseStatus.REVOKED, CaseStatus.SUPERSEDED),
}

# Files of identity checks by role. A check's reference and previous portraits are the same stored files as
# another check's cut portrait, so every face picture is in one class and goes at one time.
CHECK_FILE_ROLES: dict[DataClass, tuple[str, ...]] = {
    DataClass.FACE: (EvidenceRole.CAPTURE, EvidenceRole.REFERENCE, EvidenceRole.PREVIOUS, EvidenceRole.PORTRAIT),
    DataClass.VIDEO: (EvidenceRole.VIDEO,),
    DataClass.ID_PHOTO: (EvidenceRole.DOCUMENT,),
}


class ItemKind(models.TextChoices):
    UPLOAD = "upload", _("买受人上传的文件")
    CHECK_FILE = "check_file", _("身份核验文件")
    DOCUMENT = "document", _("文书")
    ARCHIVE = "archive", _("案件归档")


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each class is kept after the case ended; ``None`` keeps it for ever."""

    certified: timedelta | None
    ended: Mapping[str, timedelta | None]

    @classmethod
    def from_settings(cls) -> RetentionPolicy:
        return cls(
            certified=settings.ECANCEL_RETAIN_CERTIFIED,
            ended={
                DataClass.FACE: settings.ECANCEL_RETAIN_FACES,
                DataClass.VIDEO: settings.ECANCEL_RETAIN_VIDEOS,
                DataClass.ID_PHOTO: settings.ECANCEL_RETAIN_ID_PHOTOS,
                DataClass.DOCUMENT: settings.ECANCEL_RETAIN_DOCUMENTS,
            },
        )

    def period(self, data_class: str, outcome: str) -> timedelta | None:
        return self.certified if outcome == Outcome.CERTIFIED else self.ended.get(data_class)


@dataclass(frozen=True)
class PurgeItem:
    """One row whose file goes: as listed in the deletion record."""

    data_class: str
    kind: str
    object_id: str
    case_id: str
    case_number: str
    outcome: str
    closed_at: str
    sha256: str
    size: int
    file: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PurgePlan:
    now: datetime
    cutoffs: dict[str, str]
    items: list[PurgeItem]

    @property
    def counts(self) -> dict[str, int]:
        return _counts(item.data_class for item in self.items)


@dataclass
class PurgeResult:
    resumed: list[DeletionRecord] = field(default_factory=list)  # records an interrupted run left pending
    records: list[DeletionRecord] = field(default_factory=list)


FileDeleter = Callable[[Mapping[str, Any]], bool]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _counts(classes: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for data_class in classes:
        counts[data_class] = counts.get(data_class, 0) + 1
    return counts


# --- planning -----------------------------------------------------------------------------------------------


def purge_plan(*, now: datetime, policy: RetentionPolicy | None = None, limit: int | None = None) -> PurgePlan:
    """What is past its period at ``now`` and not yet purged (at most ``limit`` items); reads only."""
    policy = policy or RetentionPolicy.from_settings()
    rules = [
        (outcome, data_class, now - period)
        for outcome in Outcome
        for data_class in DataClass
        if (period := policy.period(data_class, outcome)) is not None
    ]
    cutoffs = {f"{data_class.value}/{outcome.value}": _iso(cutoff) for outcome, data_class, cutoff in rules}
    items: list[PurgeItem] = []
    for outcome, data_class, cutoff in rules:
        for cases in _ended_cases(OUTCOME_STATUSES[outcome], cutoff):
            items += _items(data_class, outcome, cases)
            if limit is not None and len(items) >= limit:
                return PurgePlan(now=now, cutoffs=cutoffs, items=items[:limit])
    return PurgePlan(now=now, cutoffs=cutoffs, items=items)


def _ended_cases(statuses: tuple[CaseStatus, ...], cutoff: datetime) -> Iterator[list[NotaryCase]]:
    found = (
        NotaryCase.objects.filter(status__in=statuses, closed_at__isnull=False, closed_at__lte=cutoff)
        .only("id", "case_number", "status", "closed_at")
        .order_by("closed_at", "id")
    )
    chunk: list[NotaryCase] = []
    for case in found.iterator(chunk_size=CASES_PER_QUERY):
        chunk.append(case)
        if len(chunk) == CASES_PER_QUERY:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _items(data_class: DataClass, outcome: Outcome, cases: list[NotaryCase]) -> list[PurgeItem]:
    by_ref = {case.subject_ref: case for case in cases}
    by_id = {case.pk: case for case in cases}

    def item(kind: str, object_id: object, case: NotaryCase, sha256: str, size: int, file: str) -> PurgeItem:
        assert case.closed_at is not None
        return PurgeItem(
            data_class=data_class.value,
            kind=kind,
            object_id=str(object_id),
            case_id=str(case.pk),
            case_number=case.case_number,
            outcome=outcome.value,
            closed_at=_iso(case.closed_at),
            sha256=sha256,
            size=size,
            file=file,
        )

    found: list[PurgeItem] = []
    if data_class in CHECK_FILE_ROLES:
        check_files = (
            CheckEvidence.objects.filter(
                check_run__case_ref__in=list(by_ref),
                role__in=CHECK_FILE_ROLES[data_class],
                purged_at__isnull=True,
            )
            .exclude(stored_name="")
            .select_related("check_run")
            .order_by("pk")
        )
        found += [
            item(ItemKind.CHECK_FILE, e.pk, by_ref[e.check_run.case_ref], e.sha256, e.size, e.stored_name)
            for e in check_files
        ]
    if data_class == DataClass.ID_PHOTO:
        uploads = (
            JourneyUpload.objects.filter(journey__case_id__in=list(by_id), purged_at__isnull=True)
            .exclude(stored_name="")
            .select_related("journey")
            .order_by("at", "pk")
        )
        found += [
            item(ItemKind.UPLOAD, u.pk, by_id[u.journey.case_id], u.sha256, u.size, u.stored_name) for u in uploads
        ]
    if data_class == DataClass.DOCUMENT:
        documents = StoredDocument.objects.filter(subject_ref__in=list(by_ref), purge__isnull=True).order_by(
            "created_at", "pk"
        )
        found += [
            item(ItemKind.DOCUMENT, d.pk, by_ref[d.subject_ref], d.sha256, d.size, d.content.name or "")
            for d in documents
        ]
        archives = CaseArchive.objects.filter(case_id__in=list(by_id), purged_at__isnull=True).order_by("pk")
        found += [item(ItemKind.ARCHIVE, a.pk, by_id[a.case_id], a.sha256, a.size, a.stored_name) for a in archives]
    return found


# --- running ------------------------------------------------------------------------------------------------


def file_delete(item: Mapping[str, Any]) -> bool:
    """Remove one listed file from storage; False if it was already gone (a rerun after an interruption)."""
    if item["kind"] == ItemKind.DOCUMENT:
        return document_file_delete(item["file"])
    return evidence_delete(item["file"])


def purge_run(
    *,
    now: datetime,
    policy: RetentionPolicy | None = None,
    batch: int | None = None,
    delete_file: FileDeleter = file_delete,
    ctx: RequestContext,
) -> PurgeResult:
    """Finish what an interrupted run left, then purge everything past its period at ``now``, one record per batch."""
    result = PurgeResult()
    for pending in DeletionRecord.objects.filter(completed_at__isnull=True).order_by("started_at"):
        result.resumed.append(_record_finish(pending, now=now, delete_file=delete_file, ctx=ctx))
    batch = batch or settings.ECANCEL_PURGE_BATCH
    while True:
        plan = purge_plan(now=now, policy=policy, limit=batch)
        if not plan.items:
            break
        record = _record_open(plan)
        if record is None:  # another run marked them first
            break
        result.records.append(_record_finish(record, now=now, delete_file=delete_file, ctx=ctx))
    return result


@transaction.atomic
def _record_open(plan: PurgePlan) -> DeletionRecord | None:
    """Mark the planned rows purged and list them in a new pending record, in one transaction."""
    record_id = uuid.uuid4()
    marked = [item for item in plan.items if _mark(item, now=plan.now, record_ref=f"deletion-record:{record_id}")]
    if not marked:
        return None
    return DeletionRecord.objects.create(
        id=record_id,
        started_at=plan.now,
        cutoffs=plan.cutoffs,
        items=[item.as_json() for item in marked],
        counts=_counts(item.data_class for item in marked),
    )


def _mark(item: PurgeItem, *, now: datetime, record_ref: str) -> bool:
    """Mark one row purged unless another run did; True if this call did."""
    if item.kind == ItemKind.CHECK_FILE:
        return bool(
            CheckEvidence.objects.filter(pk=item.object_id, purged_at__isnull=True).update(
                purged_at=now, stored_name=""
            )
        )
    if item.kind == ItemKind.UPLOAD:
        return bool(
            JourneyUpload.objects.filter(pk=item.object_id, purged_at__isnull=True).update(
                purged_at=now, stored_name="", updated_at=now
            )
        )
    if item.kind == ItemKind.ARCHIVE:
        return bool(
            CaseArchive.objects.filter(pk=item.object_id, purged_at__isnull=True).update(purged_at=now, updated_at=now)
        )
    document = StoredDocument.objects.select_for_update().get(pk=item.object_id)
    return document_purge_mark(document, now=now, record_ref=record_ref)


def _still_used(item: Mapping[str, Any]) -> bool:
    """Whether a row not yet purged still points at the file (a portrait shared by two checks, in a later batch)."""
    if item["kind"] == ItemKind.DOCUMENT:
        return False
    name = item["file"]
    return (
        CheckEvidence.objects.filter(stored_name=name).exists()
        or JourneyUpload.objects.filter(stored_name=name).exists()
        or CaseArchive.objects.filter(stored_name=name, purged_at__isnull=True).exists()
    )


def _record_finish(
    record: DeletionRecord, *, now: datetime, delete_file: FileDeleter, ctx: RequestContext
) -> DeletionRecord:
    """Remove the record's files, then sign and complete it (nothing if another run completed it first)."""
    for item in record.items:
        if not _still_used(item):
            delete_file(item)
    with transaction.atomic():
        locked = DeletionRecord.objects.select_for_update().get(pk=record.pk)
        if locked.completed_at is not None:
            return locked
        locked.completed_at = now
        content = record_content(locked)
        key = signing_key()
        locked.content = content
        locked.sha256 = hashlib.sha256(content).hexdigest()
        locked.public_key = public_key_b64(key)
        locked.signature = base64.b64encode(key.sign(content)).decode()
        locked.save(update_fields=["completed_at", "content", "sha256", "public_key", "signature", "updated_at"])
        record_event(
            "notary.retention.purged",
            obj=locked,
            data={"sha256": locked.sha256, "counts": locked.counts, "cutoffs": locked.cutoffs},
            ctx=ctx,
        )
    return locked


def record_content(record: DeletionRecord) -> bytes:
    """The signed statement: canonical JSON of what the record lists."""
    assert record.completed_at is not None
    payload = {
        "format": RECORD_FORMAT,
        "record": str(record.pk),
        "started_at": _iso(record.started_at),
        "completed_at": _iso(record.completed_at),
        "cutoffs": record.cutoffs,
        "counts": record.counts,
        "items": record.items,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# --- verifying ----------------------------------------------------------------------------------------------


def deletion_record_verify(record: DeletionRecord) -> list[Text]:
    """What is wrong with a stored record (an empty list: intact, and signed by this deployment's key)."""
    if record.completed_at is None:
        return [_("删除记录尚未完成：运行被中断，下次运行会补完")]
    content = bytes(record.content)
    problems: list[Text] = []
    if hashlib.sha256(content).hexdigest() != record.sha256:
        problems.append(_("删除记录的内容与其摘要不符"))
    if record.public_key != public_key_b64(signing_key()):
        problems.append(_("删除记录不是用本部署的审计检查点密钥签名的"))
    try:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(record.public_key, validate=True))
        public_key.verify(base64.b64decode(record.signature, validate=True), content)
    except (ValueError, binascii.Error, InvalidSignature):
        problems.append(_("删除记录的签名无效"))
    if content != record_content(record):
        problems.append(_("删除记录的清单与签名内容不一致"))
    return problems
