"""A buyer's phone in tests: a case with its four documents, and a client that walks the journey's pages."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlparse

from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from ecancel.accounts.models import NotaryOffice
from ecancel.buyers.models import HandoffToken, Journey
from ecancel.buyers.services import IssuedHandoff, handoff_issue
from ecancel.buyers.services.handoff import token_digest
from ecancel.core.context import RequestContext
from ecancel.documents.models import DocumentKind, StoredDocument
from ecancel.identity import specimens
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
    return "data:image/png;base64," + base64.b64encode(specimens.signature_png(drawn=drawn)).decode()


def upload(name: str, content: bytes, media_type: str = "image/jpeg") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=media_type)


class Phone:
    """One phone: its own cookies; its requests run the work queued on their commit (tasks run inline in tests):
    the identity checks, and the sealing of the manifest after the last check's page submits."""

    def __init__(self, capture: Callable[..., AbstractContextManager[Any]], ip: str = "203.0.113.20") -> None:
        self.client = Client(HTTP_USER_AGENT=PHONE_UA, REMOTE_ADDR=ip)
        self.capture = capture

    def scan(self, handoff: IssuedHandoff | str) -> Any:
        """Open the QR's link: a handoff issued here, or the URL the seller was sent."""
        return self.client.get(urlparse(handoff).path if isinstance(handoff, str) else f"/h/{handoff.raw}")

    def get(self, url: str, **extra: Any) -> Any:
        with self.capture(execute=True):
            return self.client.get(url, **extra)

    def post(self, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        with self.capture(execute=True):
            return self.client.post(url, data or {}, **extra)

    def follow(self, url: str = "/b/") -> Any:
        return self.client.get(url, follow=True)


def now() -> Any:
    return timezone.now()


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"no hidden {name}"
    return found.group(1)


def step_of(response: Any) -> tuple[int, int]:
    found = re.search(r"第 (\d+) 步 / 共 (\d+) 步", response.content.decode())
    assert found
    return int(found.group(1)), int(found.group(2))


def frames(variant: int) -> list[Any]:
    image = makers.rotated(makers.portrait(), 2 * variant)
    return [upload(f"f{n}.jpg", makers.to_jpeg(makers.rotated(image, n), quality=80 + variant % 16)) for n in range(3)]


def capture(camera_page: str, variant: int) -> dict[str, Any]:
    """What the camera form posts: the check and nonce the server issued, and the frames shot."""
    return {"check": hidden(camera_page, "check"), "nonce": hidden(camera_page, "nonce"), "frames": frames(variant)}


def read_documents(phone: Phone) -> None:
    page = phone.get("/b/read/").content.decode()
    keys = re.findall(r'href="/b/doc/([a-z_]+)/"', page)
    assert len(keys) == 4
    # 同意继续 is refused until every document was opened.
    refused = phone.post("/b/read/", {"agree": "yes"})
    assert refused.status_code == 422
    for key in keys:
        shown = phone.get(f"/b/doc/{key}/")
        assert shown.status_code == 200 and shown["Content-Type"] == "application/pdf"
        assert shown["Content-Disposition"].startswith("inline")
    assert phone.post("/b/read/", {"agree": "yes"})["Location"] == "/b/uploads/"


def mainland_to_done(phone: Phone, handoff: Any, position: int = 1, *, variant: int = 0) -> Journey:
    """The face path to the end; ``variant`` gives other camera frames (the same frames twice are a replay)."""
    assert phone.scan(handoff)["Location"] == "/b/"
    assert phone.post("/b/choose/", {"buyer": position})["Location"] == "/b/consent/"
    assert step_of(phone.get("/b/consent/")) == (1, 7)
    assert phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})["Location"] == "/b/face/"
    # No ID portrait read yet: the face step asks for it first.
    assert 'name="document_front"' in phone.get("/b/face/").content.decode()
    assert phone.post("/b/face/reference/", {"document_front": upload("id.jpg", photo())}).status_code == 302
    camera = phone.get("/b/face/").content.decode()
    assert "data-camera-capture" in camera and "data-liveness-action" in camera
    sent = phone.post(
        "/b/face/",
        {"check": hidden(camera, "check"), "nonce": hidden(camera, "nonce"), "frames": frames(1 + 2 * variant)},
    )
    assert sent["Location"] == "/b/face/"
    assert phone.get("/b/face/")["Location"] == "/b/read/"
    read_documents(phone)
    # The ID front read at the face step is kept: only the back and the holding photo are still wanted.
    photos = {"document_back": upload("b.jpg", photo()), "holding": upload("h.jpg", photo())}
    assert phone.post("/b/uploads/", photos)["Location"] == "/b/signature/"
    assert phone.post("/b/signature/", {"signature": signature_data_url()})["Location"] == "/b/face-again/"
    camera = phone.get("/b/face-again/").content.decode()
    phone.post(
        "/b/face-again/",
        {"check": hidden(camera, "check"), "nonce": hidden(camera, "nonce"), "frames": frames(2 + 2 * variant)},
    )
    assert phone.get("/b/face-again/")["Location"] == "/b/done/"
    done = phone.get("/b/done/")
    assert "申请成功" in done.content.decode()
    return Journey.objects.get(buyer__case=_case_of(handoff), buyer__position=position)


def _case_of(handoff: IssuedHandoff | str) -> NotaryCase:
    if isinstance(handoff, str):
        raw = urlparse(handoff).path.rstrip("/").rsplit("/", 1)[-1]
        return HandoffToken.objects.select_related("case").get(token_hash=token_digest(raw)).case
    return handoff.token.case


def passport_to_done(phone: Phone, handoff: Any, position: int, *, video: bytes | None = None) -> Journey:
    """A passport holder's way: the document read, the four documents, photos, signature, a read-aloud video
    (``video``, or the session's one: the same video twice is a replay)."""
    phone.scan(handoff)
    assert phone.post("/b/choose/", {"buyer": position})["Location"] == "/b/consent/"
    assert phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})["Location"] == "/b/document-kind/"
    page = phone.get("/b/document-kind/")
    assert step_of(page) == (2, 9) and "港澳居民来往内地通行证" in page.content.decode()
    assert phone.post("/b/document-kind/", {"kind": "passport"})["Location"] == "/b/document-read/"
    phone.post("/b/document-read/", {"front": upload("p.jpg", photo())})
    assert phone.get("/b/document-read/")["Location"] == "/b/read/"
    read_documents(phone)
    photos = {slot: upload(f"{slot}.jpg", photo()) for slot in ("document_front", "document_back", "holding")}
    assert phone.post("/b/uploads/", photos)["Location"] == "/b/signature/"
    assert phone.post("/b/signature/", {"signature": signature_data_url()})["Location"] == "/b/video/"
    recorder = phone.get("/b/video/").content.decode()
    assert 'data-seconds="15"' in recorder and "本人自愿申请注销商品房买卖合同，核验码" in recorder
    recording = upload("v.webm", video if video is not None else makers.make_video(15), "video/webm")
    phone.post(
        "/b/video/", {"check": hidden(recorder, "check"), "nonce": hidden(recorder, "nonce"), "video": recording}
    )
    assert phone.get("/b/video/")["Location"] == "/b/submit/"
    assert "提交资料，完成" in phone.get("/b/submit/").content.decode()
    phone.post("/b/submit/")
    assert phone.get("/b/submit/")["Location"] == "/b/done/"
    return Journey.objects.get(buyer__case=_case_of(handoff), buyer__position=position)
