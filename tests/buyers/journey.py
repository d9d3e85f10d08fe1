"""A buyer's phone in tests: a case with its four documents, and a client that walks the journey's pages."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageDraw

from ecancel.accounts.models import NotaryOffice
from ecancel.buyers.services import IssuedHandoff, handoff_issue
from ecancel.core.context import RequestContext
from ecancel.documents.models import DocumentKind, StoredDocument
from ecancel.identity.id_numbers import IdType
from ecancel.notary.models import CaseParty, MaterialKind, NotaryCase, PartyRole, ReceivedMaterial
from tests.factories import DeveloperFactory
from tests.identity import makers
from tests.notary.helpers import make_case

CTX = RequestContext.system("test")
PHONE_UA = "Mozilla/5.0 (Linux; Android 14) Mobile"


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF made here (the page shows nothing; its bytes are what the buyer is shown)."""
    out = io.BytesIO()
    Image.new("RGB", (60, 80), "white").save(out, format="PDF", title=text)
    return out.getvalue()


def add_documents(case: NotaryCase) -> None:
    """The seller's termination agreement and the office's three intake documents, as intake leaves them."""
    agreement = tiny_pdf("termination agreement")
    material = ReceivedMaterial(
        case=case,
        kind=MaterialKind.TERMINATION_AGREEMENT,
        attachment_name="termination_agreement.pdf",
        content_type="application/pdf",
        sha256=hashlib.sha256(agreement).hexdigest(),
        size=len(agreement),
        received_at=case.received_at,
    )
    material.content.save("agreement.pdf", ContentFile(agreement), save=False)
    material.save()
    for kind in (DocumentKind.NOTARIZATION_APPLICATION, DocumentKind.NOTARIZATION_NOTICE, DocumentKind.INTAKE_RECORD):
        pdf = tiny_pdf(kind)
        document = StoredDocument(
            kind=kind,
            title=str(kind.label),
            version=1,
            issuer=case.office.organisation,
            subject_ref=case.subject_ref,
            verification_code=secrets.token_hex(6).upper(),
            template=kind.value,
            template_version="1",
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            page_count=1,
        )
        document.content.save(f"{kind.value}-{secrets.token_hex(8)}.pdf", ContentFile(pdf), save=False)
        document.save()


def case_for_buyers(office: NotaryOffice, *, buyers: int = 2) -> NotaryCase:
    case = make_case(office, DeveloperFactory().organisation, buyers=buyers)
    add_documents(case)
    return case


def make_foreign(party: CaseParty) -> None:
    CaseParty.objects.filter(pk=party.pk).update(
        is_mainland=False, id_type=IdType.PASSPORT, id_number="E12345678", region="美国"
    )


def add_agent(case: NotaryCase, *, acts_for: list[int]) -> CaseParty:
    return CaseParty.objects.create(
        case=case,
        role=PartyRole.AGENT,
        position=1,
        name="欧阳明",
        id_type=IdType.MAINLAND_ID,
        id_number=CaseParty.objects.filter(case=case).first().id_number,  # type: ignore[union-attr]
        acts_for=acts_for,
    )


def qr(case: NotaryCase) -> IssuedHandoff:
    return handoff_issue(case=case, actor=None, ctx=CTX)


def photo() -> bytes:
    return makers.to_jpeg(makers.render_id_card_front())


def signature_data_url(drawn: bool = True) -> str:
    image = Image.new("RGBA", (340, 200), (0, 0, 0, 0))
    if drawn:
        ImageDraw.Draw(image).line([(20, 150), (120, 40), (220, 160), (320, 60)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def upload(name: str, content: bytes, media_type: str = "image/jpeg") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=media_type)


class Phone:
    """One phone: its own cookies; posts run the identity work queued on commit (tasks run inline in tests)."""

    def __init__(self, capture: Callable[..., AbstractContextManager[Any]], ip: str = "203.0.113.20") -> None:
        self.client = Client(HTTP_USER_AGENT=PHONE_UA, REMOTE_ADDR=ip)
        self.capture = capture

    def scan(self, handoff: IssuedHandoff) -> Any:
        return self.client.get(f"/h/{handoff.raw}")

    def get(self, url: str, **extra: Any) -> Any:
        return self.client.get(url, **extra)

    def post(self, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        with self.capture(execute=True):
            return self.client.post(url, data or {}, **extra)

    def follow(self, url: str = "/b/") -> Any:
        return self.client.get(url, follow=True)


def now() -> Any:
    return timezone.now()
