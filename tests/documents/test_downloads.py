"""Downloads: attachment or inline, never sniffed or cached, and refused when the file was changed."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.storage import default_storage

from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.documents.downloads import document_response
from ecancel.documents.models import StoredDocument
from ecancel.documents.samples import SampleDocument
from ecancel.documents.services import DocumentIntegrityError, document_issue, document_read
from tests.at_rest import assert_sealed_at_rest
from tests.documents.conftest import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(samples: dict[str, SampleDocument], notary_office: Organisation) -> StoredDocument:
    sample = samples["notarization_application"]
    return document_issue(
        kind=sample.template,
        data=sample.data,
        issuer=notary_office,
        subject_ref="case:download-1",
        actor=None,
        ctx=RequestContext.system(),
    )


def body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_download_is_an_attachment_with_safe_headers(stored: StoredDocument) -> None:
    response = document_response(stored, inline=False)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert int(response["Content-Length"]) == stored.size
    assert body(response).startswith(b"%PDF-")


def test_inline_view_for_printing(stored: StoredDocument) -> None:
    response = document_response(stored, inline=True)
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_the_issued_file_is_sealed_at_rest(stored: StoredDocument, samples: dict[str, SampleDocument]) -> None:
    numbers = re.findall(r"\d{17}[\dX]", json.dumps(samples["notarization_application"].data))
    text = pdf_text(document_read(stored))
    assert numbers and all(number in text for number in numbers), "the document prints the ID numbers in full"
    assert_sealed_at_rest(stored.content.name, id_numbers=numbers)


def test_a_changed_file_is_refused_and_recorded(stored: StoredDocument) -> None:
    path = default_storage.path(stored.content.name)  # the sealed file as the folder holds it
    with open(path, "r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(DocumentIntegrityError) as refused:
        document_response(stored, inline=False)
    assert refused.value.http_status == 500
    assert "校验失败" in refused.value.zh
    event = AuditEvent.objects.get(tag="documents.document.integrity_failed")
    assert event.object_id == str(stored.pk) and event.result == "error"


def test_a_missing_file_is_refused_and_recorded(stored: StoredDocument) -> None:
    default_storage.delete(stored.content.name)
    with pytest.raises(DocumentIntegrityError):
        document_response(stored, inline=False)
    event = AuditEvent.objects.get(tag="documents.document.integrity_failed")
    assert event.object_id == str(stored.pk)
    assert event.data == {"expected_sha256": stored.sha256, "actual_sha256": None}


def test_download_name_is_readable_and_safe(stored: StoredDocument) -> None:
    assert stored.download_name == "终止协议公证申请表-v1.pdf"
