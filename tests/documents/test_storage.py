"""Issuing and storing documents: signed, hashed, versioned, immutable, nothing half-written."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from pypdf import PdfReader

from ecancel.accounts.models import Organisation, User
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.core.errors import ValidationFailed
from ecancel.documents.models import DocumentKind, ImmutableDocument, StoredDocument
from ecancel.documents.samples import SampleDocument
from ecancel.documents.selectors import document_find_by_code, document_latest, document_list
from ecancel.documents.services import (
    document_files_sweep,
    document_issue,
    document_prepare,
    document_read,
    document_store,
)
from tests.documents.conftest import pdf_text

pytestmark = pytest.mark.django_db
CTX = RequestContext(ip="127.0.0.1", user_agent="pytest")


def stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "documents"
    return {p for p in root.rglob("*.pdf")} if root.exists() else set()


def issue(
    sample: SampleDocument, issuer: Organisation, actor: User | None, subject: str = "case:demo-1"
) -> StoredDocument:
    return document_issue(
        kind=sample.template,
        data=sample.data,
        images=sample.images,
        issuer=issuer,
        subject_ref=subject,
        reference_no=sample.reference_no,
        actor=actor,
        ctx=CTX,
    )


def test_issue_stores_the_signed_pdf_with_its_hash_and_an_audit_event(
    samples: dict[str, SampleDocument], developer: Organisation, operator: User
) -> None:
    doc = issue(samples["cancellation_form"], developer, operator, subject="application:1")

    content = document_read(doc)
    assert doc.sha256 == hashlib.sha256(content).hexdigest()
    assert doc.size == len(content)
    assert doc.kind == DocumentKind.CANCELLATION_FORM
    assert doc.title == "商品房买卖合同注销备案申请表"
    assert doc.version == 1 and doc.supersedes is None
    assert doc.signed and doc.signature_level == "B-T"
    assert doc.template_version.startswith("1+")
    assert doc.page_count == 2
    assert len(doc.verification_code) == 12
    reader = PdfReader(io.BytesIO(content))
    assert reader.get_fields() is not None and "ecancel-seal" in reader.get_fields()
    event = AuditEvent.objects.get(tag="documents.document.issued", object_id=str(doc.pk))
    assert event.data["sha256"] == doc.sha256
    assert event.organisation_id == developer.pk
    assert event.actor_id == operator.pk


def test_reissuing_makes_a_new_version_and_keeps_the_old(
    samples: dict[str, SampleDocument], notary_office: Organisation, notary_clerk: User
) -> None:
    first = issue(samples["notarization_notice"], notary_office, notary_clerk)
    second = issue(samples["notarization_notice"], notary_office, notary_clerk)

    assert (first.version, second.version) == (1, 2)
    assert second.supersedes == first
    assert document_read(first) != document_read(second)
    assert [d.version for d in document_list("case:demo-1")] == [2, 1]
    assert list(document_list("case:demo-1", latest_only=True)) == [second]
    assert document_latest("case:demo-1", DocumentKind.NOTARIZATION_NOTICE) == second


def test_a_stored_document_cannot_be_changed_or_deleted(
    samples: dict[str, SampleDocument], notary_office: Organisation
) -> None:
    doc = issue(samples["intake_record"], notary_office, None)
    doc.sha256 = "0" * 64
    with pytest.raises(ImmutableDocument):
        doc.save()
    with pytest.raises(ImmutableDocument):
        StoredDocument.objects.filter(pk=doc.pk).update(sha256="0" * 64)
    with pytest.raises(ImmutableDocument):
        doc.delete()
    with pytest.raises(ImmutableDocument):
        StoredDocument.objects.filter(pk=doc.pk).delete()
    assert StoredDocument.objects.get(pk=doc.pk).sha256 != "0" * 64


def test_certificate_is_b_lta_and_findable_by_number_and_code(
    samples: dict[str, SampleDocument], notary_office: Organisation
) -> None:
    doc = issue(samples["certificate"], notary_office, None)

    assert doc.signature_level == "B-LTA"
    assert doc.reference_no == "(2026)粤中中证字第00012号"
    text = pdf_text(document_read(doc))
    code = doc.verification_code
    assert "-".join(code[i : i + 4] for i in range(0, 12, 4)) in text
    assert document_find_by_code(doc.reference_no, code.lower()) == doc
    typed = " ".join(code[i : i + 4] for i in range(0, 12, 4)).replace("O", "0").replace("I", "1")
    assert document_find_by_code(doc.reference_no, typed) == doc
    assert document_find_by_code(doc.reference_no, "A" * 12) is None
    assert document_find_by_code(doc.reference_no, code[:-1]) is None
    assert document_find_by_code(doc.reference_no, "验证码验证码") is None
    assert document_find_by_code("(2026)粤中中证字第00013号", code) is None


def test_certificate_number_must_match_the_reference(
    samples: dict[str, SampleDocument], notary_office: Organisation
) -> None:
    sample = samples["certificate"]
    with pytest.raises(ValidationFailed) as refused:
        document_issue(
            kind="certificate",
            data=sample.data,
            images=sample.images,
            issuer=notary_office,
            subject_ref="case:demo-2",
            reference_no="(2026)粤中中证字第99999号",
            actor=None,
            ctx=CTX,
        )
    assert "reference_no" in refused.value.fields
    assert not StoredDocument.objects.exists()


def test_bad_input_stores_nothing(samples: dict[str, SampleDocument], developer: Organisation) -> None:
    before = stored_files()
    data = dict(samples["termination_agreement"].data)
    del data["refund_amount"]
    with pytest.raises(ValidationFailed) as refused:
        document_issue(
            kind="termination_agreement",
            data=data,
            images=samples["termination_agreement"].images,
            issuer=developer,
            subject_ref="application:9",
            actor=None,
            ctx=CTX,
        )
    assert "refund_amount" in refused.value.fields
    with pytest.raises(ValidationFailed):
        document_issue(kind="no_such_kind", data={}, issuer=developer, subject_ref="application:9", actor=None, ctx=CTX)
    with pytest.raises(ValidationFailed):
        issue(samples["contract"], developer, None, subject="no colon here")
    assert not StoredDocument.objects.exists()
    assert stored_files() == before


def test_a_failure_after_the_file_is_written_removes_it(
    samples: dict[str, SampleDocument], developer: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = stored_files()

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("ecancel.documents.services.record_event", broken_audit)
    with pytest.raises(RuntimeError):
        issue(samples["contract"], developer, None, subject="application:7")
    assert not StoredDocument.objects.exists()
    assert stored_files() == before


def test_files_left_by_a_rolled_back_caller_are_swept(
    samples: dict[str, SampleDocument], developer: Organisation
) -> None:
    kept = issue(samples["contract"], developer, None, subject="application:11")
    sample = samples["contract"]
    prepared = document_prepare(
        kind=sample.template,
        data=sample.data,
        images=sample.images,
        issuer=developer,
        subject_ref="application:12",
        reference_no=sample.reference_no,
    )
    before = stored_files()
    with pytest.raises(RuntimeError), transaction.atomic():
        document_store(prepared, actor=None, ctx=CTX)
        raise RuntimeError("the caller's push failed after the document was stored")
    orphans = stored_files() - before
    assert len(orphans) == 1 and not StoredDocument.objects.filter(subject_ref="application:12").exists()

    assert document_files_sweep(older_than=dt.timedelta(hours=1)) == []
    out = io.StringIO()
    call_command("sweep_documents", "--minutes", "0", stdout=out)
    (orphan,) = orphans
    assert f"removed documents/{orphan.relative_to(Path(settings.MEDIA_ROOT) / 'documents')}" in out.getvalue()
    assert not orphan.exists()
    assert document_read(kept)
    assert AuditEvent.objects.filter(tag="documents.files.swept").count() == 1
