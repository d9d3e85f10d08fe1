"""Issuing documents: render, sign by the issuing organisation, store once, record the event."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from ecancel.audit.services import record_event, record_swept
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, ValidationFailed, field_error
from ecancel.core.storage import (
    SWEEP_LOOKBACK,
    StoredFileUnreadable,
    dated_name,
    encrypted_storage,
    orphans_sweep,
)
from ecancel.documents.models import DOCUMENTS_FOLDER, DocumentKind, DocumentPurge, SignatureLevel, StoredDocument
from ecancel.documents.pki.backends import organisation_code
from ecancel.documents.render import RenderedDocument, render_document
from ecancel.documents.schemas import CertificateData, DocumentData, validate_data
from ecancel.documents.slots import run_in_signing_slot
from ecancel.identity.masking import mask_name

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation, User

# RFC 4648 base32: no 0/1/8/9, so a typed O, I or B is never ambiguous.
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CODE_LENGTH = 12
SUBJECT_REF = re.compile(r"^[a-z][a-z_]{0,30}:[A-Za-z0-9._-]{1,64}$")
DEFAULT_LEVEL: dict[str, str] = {DocumentKind.CERTIFICATE: SignatureLevel.B_LTA}
SIGNATURE_FIELD = "ecancel-seal"


class DocumentIntegrityError(DomainError):
    """A stored file no longer matches the hash recorded when it was issued."""

    def __init__(self, document: StoredDocument) -> None:
        super().__init__(
            text=gettext_lazy(
                "文书「%(document_title)s」的文件校验失败（与出具时的摘要不符），已停止提供；请联系系统管理员"
            ),
            code="document_integrity",
            http_status=500,
            params={"document_title": document.title},
        )


def new_verification_code() -> str:
    """12 characters of base32 (60 random bits): short enough to type, too many to guess."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_verification_code(typed: str) -> str:
    """What a person typed, as stored: case, spaces and dashes ignored; 0, 1 and 8 read as O, I and B."""
    cleaned = re.sub(r"[\s\-]", "", typed).upper()
    return cleaned.translate(str.maketrans("018", "OIB"))


def verification_url(reference_no: str, code: str) -> str:
    """The public /verify/ link printed (and QR-coded) on a certificate."""
    return f"{settings.ECANCEL_PUBLIC_URL}/verify/?{urlencode({'no': reference_no, 'code': code})}"


@dataclass(frozen=True)
class PreparedDocument:
    """A rendered and signed document not stored yet: made before the caller takes any lock."""

    kind: str
    title: str
    pdf: bytes
    issuer: Organisation
    subject_ref: str
    reference_no: str
    code: str
    template_version: str
    page_count: int
    level: str
    public_parties: tuple[str, ...] = ()
    self_test: bool = False


def public_parties_of(model: DocumentData) -> tuple[str, ...]:
    """Who a certificate concerns, as the public /verify/ page may name them: the seller company in full (a
    company's name is public), every buyer and any agent masked."""
    if not isinstance(model, CertificateData):
        return ()
    people = [mask_name(buyer.name) for buyer in model.buyers]
    if model.agent is not None:
        people.append(mask_name(model.agent.name))
    return (model.contract.seller.name, *people)


def document_issue(
    *,
    kind: str,
    data: Mapping[str, Any] | DocumentData,
    issuer: Organisation,
    subject_ref: str,
    images: Mapping[str, bytes] | None = None,
    sign_level: str | None = None,
    reference_no: str = "",
    actor: User | None,
    ctx: RequestContext,
) -> StoredDocument:
    """Render ``kind`` from ``data``, sign it as ``issuer`` and store it as the next version for
    ``subject_ref``; earlier versions stay. ``sign_level`` defaults to B-LTA for the certificate and
    B-T for everything else. Nothing is stored when any step fails. Not inside a transaction (signing waits
    for a slot): a caller with locks to take uses ``document_prepare`` first, then ``document_store``."""
    prepared = document_prepare(
        kind=kind,
        data=data,
        issuer=issuer,
        subject_ref=subject_ref,
        images=images,
        sign_level=sign_level,
        reference_no=reference_no,
    )
    return document_store(prepared, actor=actor, ctx=ctx)


def document_prepare(
    *,
    kind: str,
    data: Mapping[str, Any] | DocumentData,
    issuer: Organisation,
    subject_ref: str,
    images: Mapping[str, bytes] | None = None,
    sign_level: str | None = None,
    reference_no: str = "",
) -> PreparedDocument:
    """The slow half of ``document_issue`` (render, sign, timestamp), touching no row: callers run it before
    their transaction so no lock is held meanwhile, then ``document_store`` it inside. It waits for one of the
    host's signing slots (``documents.slots``), so it must not run inside a transaction."""
    kind = _kind(kind)
    if not SUBJECT_REF.match(subject_ref):
        raise field_error("subject_ref", gettext_lazy("文书所属事项格式不正确"))
    level = sign_level or DEFAULT_LEVEL.get(kind, SignatureLevel.B_T)
    if level not in SignatureLevel.values:
        raise field_error("sign_level", gettext_lazy("签名级别只能是 B-T 或 B-LTA"))
    model = validate_data(kind, data)
    code = new_verification_code()
    if isinstance(model, CertificateData):
        reference_no = reference_no or model.certificate_no
        if reference_no != model.certificate_no:
            raise field_error("reference_no", gettext_lazy("文书编号与公证书编号不一致"))
        model = model.model_copy(
            update={"verification_code": code, "verification_url": verification_url(reference_no, code)}
        )
    self_test = isinstance(model, CertificateData) and model.self_test
    with translation.override("zh-hans"):
        title = str(DocumentKind(kind).label)
    if self_test:
        title = f"{title}（系统自检文书，不具有法律效力）"
    issued_at = timezone.now()
    organisation_code(issuer)  # loads the issuer's company or office row here: the signing thread has no connection

    def render_and_sign() -> tuple[RenderedDocument, bytes]:
        rendered = render_document(kind, model, images=images, timestamp=issued_at)
        return rendered, sign_rendered(rendered, issuer=issuer, level=level, title=title)

    rendered, pdf = run_in_signing_slot(render_and_sign)
    return PreparedDocument(
        kind=kind,
        title=title,
        pdf=pdf,
        issuer=issuer,
        subject_ref=subject_ref,
        reference_no=reference_no,
        code=code,
        template_version=rendered.template_version,
        page_count=rendered.page_count,
        level=level,
        public_parties=public_parties_of(model),
        self_test=self_test,
    )


def document_store(prepared: PreparedDocument, *, actor: User | None, ctx: RequestContext) -> StoredDocument:
    """Store a prepared document as the next version for its subject, in the caller's transaction. If that
    transaction rolls back, the file stays behind until ``document_files_sweep`` removes it."""
    return _store(
        kind=prepared.kind,
        title=prepared.title,
        pdf=prepared.pdf,
        issuer=prepared.issuer,
        subject_ref=prepared.subject_ref,
        reference_no=prepared.reference_no,
        code=prepared.code,
        template_version=prepared.template_version,
        page_count=prepared.page_count,
        level=prepared.level,
        public_parties=prepared.public_parties,
        self_test=prepared.self_test,
        actor=actor,
        ctx=ctx,
    )


def sign_rendered(rendered: RenderedDocument, *, issuer: Organisation, level: str, title: str) -> bytes:
    """The issuer's PAdES signature, its visible seal placed on the template's seal area."""
    from ecancel.documents.signing import sign_pdf

    seal = rendered.seal
    return sign_pdf(
        rendered.pdf,
        organisation=issuer,
        level="B-LTA" if level == SignatureLevel.B_LTA else "B-T",
        field_name=SIGNATURE_FIELD,
        reason=f"{issuer.name}出具《{title}》",
        location=issuer.address or "中国",
        page=seal.page if seal else 0,
        box=(round(seal.box[0]), round(seal.box[1]), round(seal.box[2]), round(seal.box[3])) if seal else None,
    )


def _kind(kind: str) -> str:
    if kind not in DocumentKind.values:
        raise ValidationFailed(gettext_lazy("未知的文书类型「%(kind)s」"), params={"kind": kind})
    return kind


@transaction.atomic
def _store(
    *,
    kind: str,
    title: str,
    pdf: bytes,
    issuer: Organisation,
    subject_ref: str,
    reference_no: str,
    code: str,
    template_version: str,
    page_count: int,
    level: str,
    public_parties: tuple[str, ...],
    self_test: bool,
    actor: User | None,
    ctx: RequestContext,
) -> StoredDocument:
    previous = (
        StoredDocument.objects.select_for_update()
        .filter(subject_ref=subject_ref, kind=kind)
        .order_by("-version")
        .first()
    )
    now = timezone.now()
    name = encrypted_storage.save(dated_name(DOCUMENTS_FOLDER, ".pdf", at=now), ContentFile(pdf))
    try:
        with transaction.atomic():
            document = StoredDocument(
                kind=kind,
                title=title,
                version=(previous.version + 1) if previous else 1,
                supersedes=previous,
                issuer=issuer,
                subject_ref=subject_ref,
                reference_no=reference_no,
                verification_code=code,
                template=kind,
                template_version=template_version,
                sha256=hashlib.sha256(pdf).hexdigest(),
                size=len(pdf),
                page_count=page_count,
                signed=True,
                signature_level=level,
                public_parties=list(public_parties),
                self_test=self_test,
            )
            document.content.name = name
            document.save(force_insert=True)
            record_event(
                "documents.document.issued",
                actor=actor,
                organisation=issuer,
                obj=document,
                data={
                    "kind": kind,
                    "version": document.version,
                    "subject_ref": subject_ref,
                    "reference_no": reference_no,
                    "sha256": document.sha256,
                    "size": document.size,
                    "template_version": template_version,
                    "signature_level": level,
                    "supersedes": str(previous.pk) if previous else None,
                },
                ctx=ctx,
            )
    except BaseException as exc:
        encrypted_storage.delete(name)
        if isinstance(exc, IntegrityError):
            raise DomainError(
                text=gettext_lazy("同一文书正在被同时生成，请稍后重试"),
                code="conflict",
                http_status=409,
            ) from exc
        raise
    return document


class DocumentPurged(DomainError):
    """The document's file was deleted at the end of its retention period; its row still says what it was."""

    def __init__(self, document: StoredDocument) -> None:
        super().__init__(
            text=gettext_lazy("文书「%(document_title)s」已按保存期限删除"),
            code="document_purged",
            http_status=410,
            params={"document_title": document.title},
        )


def document_purge_mark(document: StoredDocument, *, now: dt.datetime, record_ref: str) -> bool:
    """Mark the document's file as purged (inside the caller's transaction); False if it already was.

    The file itself is removed after the caller commits (``document_file_delete``), so a page never points at a
    file that is gone without saying so.
    """
    _, created = DocumentPurge.objects.get_or_create(
        document=document, defaults={"purged_at": now, "record_ref": record_ref}
    )
    return created


def document_file_delete(name: str) -> bool:
    """Remove a purged document's file; False if it was already gone. Only for a document marked purged."""
    if not StoredDocument.objects.filter(content=name, purge__isnull=False).exists():
        raise ValueError(f"{name!r} is not the file of a purged document")
    if not encrypted_storage.exists(name):
        return False
    encrypted_storage.delete(name)
    return True


def document_read(document: StoredDocument, *, ctx: RequestContext | None = None) -> bytes:
    """The issued PDF, after checking it against the hash recorded at issue; a missing or undecryptable file fails
    too."""
    if DocumentPurge.objects.filter(document=document).exists():
        raise DocumentPurged(document)
    try:
        with document.content.open("rb") as handle:
            content: bytes | None = handle.read()
    except (OSError, StoredFileUnreadable):
        content = None
    actual = hashlib.sha256(content).hexdigest() if content is not None else None
    if content is None or len(content) != document.size or actual != document.sha256:
        record_event(
            "documents.document.integrity_failed",
            organisation=document.issuer,
            obj=document,
            # No actual hash: the file is gone, cannot be read or does not decrypt.
            data={"expected_sha256": document.sha256, "actual_sha256": actual},
            ctx=ctx,
            result="error",
        )
        raise DocumentIntegrityError(document)
    return content


def document_files_sweep(
    *,
    older_than: dt.timedelta = dt.timedelta(hours=1),
    lookback: dt.timedelta = SWEEP_LOOKBACK,
    now: dt.datetime | None = None,
    ctx: RequestContext | None = None,
) -> list[str]:
    """Delete stored files that no document row refers to and that are older than ``older_than``.

    ``document_issue`` writes the file before its row and removes it if its own steps fail; when the
    caller's transaction rolls back afterwards, the row goes but the file stays. This removes those, looking
    only at the day folders of the ``lookback`` before the cut-off (never a walk of the whole storage).
    """
    removed = orphans_sweep(
        DOCUMENTS_FOLDER,
        referenced=lambda names: StoredDocument.objects.filter(content__in=names).values_list("content", flat=True),
        now=now or timezone.now(),
        older_than=older_than,
        lookback=lookback,
    )
    record_swept("documents.files.swept", removed, ctx=ctx)
    return removed
