"""The steps of a buyer's journey (manual 7.1 / 7.2), each a service scoped by the buyer's own session.

Every service finds the journey through the session (never through an id from the request), refuses once the
journey is submitted (409), and keeps each completed step in the database as it completes, so a lost
connection or an expired session never loses one. Identity work is the identity engine's: these services
start checks and hand over captures; the worker judges them and ``journey_check_progress`` moves the journey
on when a check passed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image

from ecancel.audit.services import record_event
from ecancel.buyers import steps
from ecancel.buyers.consents import consent_text
from ecancel.buyers.models import (
    BuyerSession,
    CheckPurpose,
    Consent,
    ConsentKind,
    DocumentOpening,
    Journey,
    JourneyCheck,
    JourneyPath,
    JourneyUpload,
    UploadSlot,
)
from ecancel.buyers.selectors import (
    DOCUMENT_KEYS,
    case_documents_for_buyer,
    journey_current_uploads,
    journey_latest_check,
    journey_openings,
)
from ecancel.buyers.transitions import JourneyStatus, journey_transition
from ecancel.core.context import RequestContext
from ecancel.core.errors import FieldMessage, InvalidTransition, Joined, NotFound, ValidationFailed, field_error
from ecancel.core.ratelimit import RateLimited, Rule, Verdict, rate_limiter
from ecancel.documents.services import document_read
from ecancel.identity import services as identity
from ecancel.identity.evidence import evidence_get, evidence_put
from ecancel.identity.models import IdentityCheck
from ecancel.identity.transitions import CheckStatus
from ecancel.identity.uploads import UploadRefused, sanitize_upload
from ecancel.notary.downloads import MaterialAltered
from ecancel.notary.models import CaseParty, PartyRole
from ecancel.notary.services.submission import case_party_record_start

# Agents are numbered apart from buyers in the identity engine's subjects (a party position per case).
AGENT_SUBJECT_OFFSET = 100
PHOTO_SLOTS = (UploadSlot.DOCUMENT_FRONT, UploadSlot.DOCUMENT_BACK, UploadSlot.HOLDING)
# Registered document types that match a chosen non-mainland document (so its number can be checked).
REGISTERED_TYPE = {
    "passport": "passport",
    "hk_macau_permit": "hk_macao_permit",
    "taiwan_permit": "taiwan_permit",
    "foreign_permanent_residence": "foreign_permanent_resident",
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class TooManyChoices(RateLimited):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            verdict,
            text=_("选择买受人的次数过多"),
            then=_("；如需帮助请联系公证处"),
            code="too_many_choices",
        )


def choice_rule() -> Rule:
    return Rule("buyer-choice", settings.ECANCEL_BUYER_MAX_CHOICES, settings.ECANCEL_BUYER_CHOICE_WINDOW)


def submitted_refusal() -> InvalidTransition:
    return InvalidTransition(
        _("资料已提交，不能再更改；如需更正请联系公证处"),
        code="submitted",
    )


def wrong_step() -> InvalidTransition:
    return InvalidTransition(_("请按顺序办理：请先完成当前步骤"), code="wrong_step")


def subject_of(journey: Journey) -> identity.Subject:
    actor = journey.actor
    offset = AGENT_SUBJECT_OFFSET if actor.role == PartyRole.AGENT else 0
    return identity.Subject(journey.case.subject_ref, offset + actor.position)


def _record(journey: Journey, tag: str, ctx: RequestContext, **data: object) -> None:
    record_event(
        f"buyers.journey.{tag}",
        organisation=journey.case.office.organisation,
        obj=journey,
        data={"case": str(journey.case_id), "buyer": journey.buyer.position, **data},
        ctx=ctx,
    )


def _evidence_fields(ctx: RequestContext, now: datetime) -> dict[str, object]:
    return {"at": now, "ip": ctx.ip, "user_agent": ctx.user_agent[:400]}


def _locked(session: BuyerSession, *, step: str | None = None) -> Journey:
    """The session's journey under a row lock; refused once submitted or when ``step`` is not the current one."""
    if session.journey_id is None:
        raise NotFound(_("请先选择您是哪一位买受人"))
    journey = (
        Journey.objects.select_for_update()
        .select_related("case__office__organisation", "buyer", "actor")
        .get(pk=session.journey_id, case_id=session.case_id)
    )
    if journey.status == JourneyStatus.SUBMITTED:
        raise submitted_refusal()
    if step is not None and journey.step != step:
        raise wrong_step()
    return journey


def _advance(journey: Journey, step: str) -> None:
    journey.step = steps.next_step(journey, step)
    journey.save(update_fields=["step", "updated_at"])


# --- choosing who you are -------------------------------------------------------------------------


@transaction.atomic
def journey_choose(
    *, session: BuyerSession, buyer_position: int, as_agent: bool, now: datetime, ctx: RequestContext
) -> Journey:
    """Take up (or resume) one buyer's journey on this device, as the buyer or as the agent named for them."""
    verdict = rate_limiter().hit(choice_rule(), str(session.pk), now=now.timestamp())
    if verdict.exhausted:
        raise TooManyChoices(verdict)
    case = session.case
    # The buyer's row is the lock two phones choosing the same buyer at once queue on: one takes the journey,
    # the other then finds it and is refused.
    buyer = (
        CaseParty.objects.select_for_update().filter(case=case, role=PartyRole.BUYER, position=buyer_position).first()
    )
    if buyer is None:
        raise NotFound(_("未找到该买受人"))
    actor = buyer
    if as_agent:
        agent = next(
            (a for a in case.parties.filter(role=PartyRole.AGENT) if buyer.position in (a.acts_for or [])),
            None,
        )
        if agent is None:
            raise NotFound(_("该买受人没有委托代理人"))
        actor = agent
    journey = Journey.objects.select_for_update().filter(buyer=buyer).first()
    if journey is not None:
        if journey.status == JourneyStatus.SUBMITTED:
            raise submitted_refusal()
        if journey.device_hash != session.device_hash:
            raise InvalidTransition(
                _("该买受人已在其他设备上办理，请在原设备上继续；如需更换设备请联系公证处"),
                code="other_device",
            )
        if journey.actor_id != actor.pk:
            raise InvalidTransition(
                _("该买受人的办理已由另一人开始（本人或代理人），请由其继续"),
                code="other_actor",
            )
    else:
        journey = Journey.objects.create(
            case=case,
            buyer=buyer,
            actor=actor,
            device_hash=session.device_hash,
            path=JourneyPath.FACE if actor.is_mainland else JourneyPath.DOCUMENT_VIDEO,
            document_kind=steps.MAINLAND_ID if actor.is_mainland else "",
            step=steps.CONSENT,
            started_at=now,
        )
        _record(journey, "chosen", ctx, as_agent=as_agent)
    BuyerSession.objects.filter(pk=session.pk).update(journey=journey)
    session.journey = journey
    return journey


# --- consents -------------------------------------------------------------------------------------


@transaction.atomic
def consents_record(
    *, session: BuyerSession, face_processing: bool, transfer: bool, now: datetime, ctx: RequestContext
) -> Journey:
    """The two separate consents, each kept with its text's version and SHA-256.

    Passing data to the notary office is required. A mainland buyer who declines face processing goes the
    document + video way (the identity engine routes them to the notary's own check).
    """
    journey = _locked(session, step=steps.CONSENT)
    if not transfer:
        raise field_error(
            "transfer",
            _("须同意向公证处提供个人信息，才能在线办理公证"),
        )
    if not face_processing and not journey.actor.is_mainland:
        raise field_error(
            "face_processing",
            _("视频核验需要比对您的人脸；如不同意，请到公证处现场办理"),
        )
    office = journey.case.office.organisation.name
    for kind, given in ((ConsentKind.FACE_PROCESSING, face_processing), (ConsentKind.TRANSFER_TO_NOTARY, transfer)):
        text = consent_text(kind, office=office)
        Consent.objects.create(
            journey=journey,
            kind=kind,
            version=text.version,
            text_sha256=text.sha256,
            given=given,
            **_evidence_fields(ctx, now),
        )
    if not face_processing:
        journey.path, journey.document_kind = JourneyPath.DOCUMENT_VIDEO, steps.MAINLAND_ID
        identity.face_processing_refuse(subject=subject_of(journey), now=now, ctx=ctx)
    journey.status = journey_transition(journey, "start")
    journey.save(update_fields=["status", "path", "document_kind", "updated_at"])
    case_party_record_start(party_id=journey.buyer.pk, started_at=now, ctx=ctx)
    _advance(journey, steps.CONSENT)
    _record(journey, "consented", ctx, face_processing=face_processing)
    return journey


# --- identity checks ------------------------------------------------------------------------------

FACE_STEPS = {steps.FACE: CheckPurpose.FACE, steps.FACE_AGAIN: CheckPurpose.FACE_AGAIN}


def _attach(journey: Journey, purpose: str, check: IdentityCheck, ctx: RequestContext, now: datetime) -> JourneyCheck:
    return JourneyCheck.objects.create(
        journey=journey,
        purpose=purpose,
        check_run=check,
        **_evidence_fields(ctx, now),
    )


def _open_check(journey: Journey, purpose: str, now: datetime) -> IdentityCheck | None:
    """The journey's latest check of ``purpose`` while it still waits for captures."""
    latest = journey_latest_check(journey, purpose)
    if latest is None:
        return None
    check = latest.check_run
    if check.status != CheckStatus.STARTED or (check.expires_at is not None and check.expires_at <= now):
        return None
    return check


def needs_reference(journey: Journey) -> bool:
    """A face check compares the live face with the ID portrait: a face journey without a read portrait
    side asks for it first (the local engine has no population register to compare with)."""
    return journey_latest_passed(journey, CheckPurpose.DOCUMENT_READ) is None


def journey_latest_passed(journey: Journey, purpose: str) -> IdentityCheck | None:
    latest = journey_latest_check(journey, purpose)
    if latest is None or latest.check_run.status != CheckStatus.PASSED:
        return None
    return latest.check_run


def face_begin(*, session: BuyerSession, return_url: str, now: datetime, ctx: RequestContext) -> IdentityCheck:
    """The face check the page should capture for (a fresh one with a new action and nonce if none is open)."""
    with transaction.atomic():
        journey = _locked(session)
        purpose = FACE_STEPS.get(journey.step)
        if purpose is None:
            raise wrong_step()
        check = _open_check(journey, purpose, now)
        if check is not None:
            return check
    actor = journey.actor
    check = identity.face_check_start(
        subject=subject_of(journey), name=actor.name, id_number=actor.id_number, return_url=return_url, now=now, ctx=ctx
    )
    with transaction.atomic():
        _attach(_locked(session), purpose, check, ctx, now)
    return check


@transaction.atomic
def face_capture_submit(
    *,
    session: BuyerSession,
    check_id: uuid.UUID,
    nonce: str,
    frames: tuple[bytes, ...] = (),
    video: bytes | None = None,
    now: datetime,
    ctx: RequestContext,
) -> IdentityCheck:
    """Hand the camera captures of the journey's open face check to the identity engine."""
    journey = _locked(session)
    purpose = FACE_STEPS.get(journey.step)
    if purpose is None:
        raise wrong_step()
    if not JourneyCheck.objects.filter(journey=journey, purpose=purpose, check_run_id=check_id).exists():
        raise NotFound(_("未找到该核验：请重新开始"))
    return identity.face_check_submit(
        subject=subject_of(journey), check_id=check_id, nonce=nonce, frames=frames, video=video, now=now, ctx=ctx
    )


def _store_upload(journey: Journey, slot: str, content: bytes, media_type: str, ctx: RequestContext, now: datetime):  # type: ignore[no-untyped-def]
    stored = evidence_put(content, purpose=f"buyer_{slot}")
    upload = JourneyUpload.objects.create(
        journey=journey,
        slot=slot,
        media_type=media_type,
        sha256=stored.sha256,
        size=stored.size,
        stored_name=stored.name,
        **_evidence_fields(ctx, now),
    )
    _record(journey, "uploaded", ctx, slot=slot, sha256=stored.sha256)
    return upload


def _expected(journey: Journey) -> tuple[str, str | None]:
    actor = journey.actor
    kind = journey.document_kind
    matches = kind == steps.MAINLAND_ID or REGISTERED_TYPE.get(kind) == actor.id_type
    return actor.name, actor.id_number if matches else None


def _read_document(
    journey: Journey, *, purpose: str, kind: str, image: bytes, now: datetime, ctx: RequestContext
) -> IdentityCheck:
    name, number = _expected(journey)
    check = identity.document_check_submit(
        subject=subject_of(journey),
        kind=kind,
        image=image,
        expected_name=name,
        expected_number=number,
        now=now,
        ctx=ctx,
    )
    _attach(journey, purpose, check, ctx, now)
    return check


@transaction.atomic
def face_reference_submit(*, session: BuyerSession, image: bytes, now: datetime, ctx: RequestContext) -> IdentityCheck:
    """The ID card's portrait side before the first face check: read by the engine, kept as the front photo."""
    journey = _locked(session, step=steps.FACE)
    clean = sanitize_upload(image, kind="photo")
    _store_upload(journey, UploadSlot.DOCUMENT_FRONT, clean.content, clean.media_type, ctx, now)
    return _read_document(
        journey, purpose=CheckPurpose.DOCUMENT_READ, kind="id_card_front", image=clean.content, now=now, ctx=ctx
    )


@transaction.atomic
def document_kind_choose(*, session: BuyerSession, kind: str, now: datetime, ctx: RequestContext) -> Journey:
    journey = _locked(session, step=steps.DOCUMENT_KIND)
    if kind not in steps.FOREIGN_DOCUMENTS:
        raise field_error("kind", _("请选择证件类型"))
    journey.document_kind = kind
    journey.save(update_fields=["document_kind", "updated_at"])
    _advance(journey, steps.DOCUMENT_KIND)
    _record(journey, "document_chosen", ctx, kind=kind)
    return journey


@transaction.atomic
def document_read_submit(
    *, session: BuyerSession, front: bytes, back: bytes | None, now: datetime, ctx: RequestContext
) -> list[IdentityCheck]:
    """The document's photos, read and checked by the engine in the worker (the ID card: both sides)."""
    journey = _locked(session, step=steps.DOCUMENT_READ)
    if not front:
        raise field_error("front", _("请上传证件人像面（资料页）照片"))
    kinds = [(steps.reading_kind(journey.document_kind), front)]
    if journey.document_kind == steps.MAINLAND_ID:
        if not back:
            raise field_error("back", _("请上传身份证国徽面照片"))
        kinds.append(("id_card_back", back))
    return [
        _read_document(journey, purpose=CheckPurpose.DOCUMENT_READ, kind=kind, image=image, now=now, ctx=ctx)
        for kind, image in kinds
    ]


@transaction.atomic
def video_begin(*, session: BuyerSession, now: datetime, ctx: RequestContext) -> IdentityCheck:
    """The statement video's text to read (a fresh one once the last has expired)."""
    journey = _locked(session, step=steps.VIDEO)
    check = _open_check(journey, CheckPurpose.VIDEO, now)
    if check is None:
        check = identity.video_challenge_issue(subject=subject_of(journey), now=now, ctx=ctx)
        _attach(journey, CheckPurpose.VIDEO, check, ctx, now)
    return check


@transaction.atomic
def video_submit(
    *, session: BuyerSession, check_id: uuid.UUID, nonce: str, video: bytes, now: datetime, ctx: RequestContext
) -> IdentityCheck:
    journey = _locked(session, step=steps.VIDEO)
    if not JourneyCheck.objects.filter(journey=journey, purpose=CheckPurpose.VIDEO, check_run_id=check_id).exists():
        raise NotFound(_("未找到该核验：请重新开始"))
    if not video:
        raise field_error("video", _("没有收到视频，请重新录制"))
    return identity.video_check_submit(
        subject=subject_of(journey), check_id=check_id, nonce=nonce, video=video, now=now, ctx=ctx
    )


@transaction.atomic
def final_check_submit(*, session: BuyerSession, now: datetime, ctx: RequestContext) -> IdentityCheck:
    """提交资料，完成: the second identity check reads the document front uploaded for the notary again."""
    journey = _locked(session, step=steps.SUBMIT)
    front = journey_current_uploads(journey).get(UploadSlot.DOCUMENT_FRONT)
    if front is None:
        raise wrong_step()
    image = evidence_get(front.stored_name, actor=None, organisation=journey.case.office.organisation, ctx=ctx)
    return _read_document(
        journey,
        purpose=CheckPurpose.FINAL_DOCUMENT,
        kind=steps.reading_kind(journey.document_kind),
        image=image,
        now=now,
        ctx=ctx,
    )


@dataclass(frozen=True)
class Progress:
    """Where a check of the journey stands, for the page that waits on it."""

    check: IdentityCheck | None
    done: bool
    passed: bool
    messages: list[str]
    tries_left: int | None


# Which check, once passed, completes which step (the document read needs every side it asked for).
COMPLETES = {
    CheckPurpose.FACE: steps.FACE,
    CheckPurpose.FACE_AGAIN: steps.FACE_AGAIN,
    CheckPurpose.DOCUMENT_READ: steps.DOCUMENT_READ,
    CheckPurpose.VIDEO: steps.VIDEO,
    CheckPurpose.FINAL_DOCUMENT: steps.SUBMIT,
}
SUBMITS_AFTER = {steps.FACE_AGAIN, steps.SUBMIT}


def _read_checks_passed(journey: Journey) -> bool:
    attached = journey.checks.filter(purpose=CheckPurpose.DOCUMENT_READ).select_related("check_run")
    checks = [jc.check_run for jc in attached]
    latest: dict[str, IdentityCheck] = {}
    for check in sorted(checks, key=lambda c: c.started_at):
        latest[check.document_kind] = check
    wanted = {steps.reading_kind(journey.document_kind)}
    if journey.document_kind == steps.MAINLAND_ID and journey.step == steps.DOCUMENT_READ:
        wanted.add("id_card_back")
    return all(kind in latest and latest[kind].status == CheckStatus.PASSED for kind in wanted)


def _least_advanced_read(journey: Journey, latest: JourneyCheck) -> IdentityCheck:
    """Both sides of an ID card are sent together: the page waits for the slower one and shows a failure of
    either."""
    sent_together = journey.checks.filter(purpose=CheckPurpose.DOCUMENT_READ, at=latest.at).select_related("check_run")
    batch = [attached.check_run for attached in sent_together]
    rank = {CheckStatus.STARTED: 0, CheckStatus.PROCESSING: 0, CheckStatus.PASSED: 2}
    return min(batch, key=lambda check: rank.get(CheckStatus(check.status), 1))


RUNNING = (CheckStatus.STARTED, CheckStatus.PROCESSING)


def _still_waiting(session: BuyerSession, purpose: str) -> Progress | None:
    """The answer while there is nothing to complete (no check yet, or the deciding one still runs), read without
    the journey's lock; None when the check has finished and the locked path must judge it."""
    journey = session.journey
    if journey is None or journey.status == JourneyStatus.SUBMITTED:
        return None  # the locked path gives the refusal
    if session.polled is not None and session.polled[0] == purpose:
        latest = session.polled[1]  # read with the session
    else:
        latest = journey_latest_check(journey, purpose, status_only=True)
    if latest is None:
        return Progress(None, False, False, [], None)
    check = _least_advanced_read(journey, latest) if purpose == CheckPurpose.DOCUMENT_READ else latest.check_run
    if check.status in RUNNING:
        return Progress(check, False, False, [], None)
    return None


def journey_check_progress(*, session: BuyerSession, purpose: str, now: datetime, ctx: RequestContext) -> Progress:
    """The latest check of ``purpose``; a passed one completes its step (and the last one submits).

    A waiting page polls this every 1.5 s while the check runs: that answer needs no lock and writes nothing.
    """
    from ecancel.buyers.services.submission import journey_submit

    waiting = _still_waiting(session, purpose)
    if waiting is not None:
        return waiting
    with transaction.atomic():
        journey = _locked(session)
        latest = journey_latest_check(journey, purpose)
        if latest is None:
            return Progress(None, False, False, [], None)
        check = IdentityCheck.objects.get(pk=latest.check_run_id)
        if purpose == CheckPurpose.DOCUMENT_READ:
            check = _least_advanced_read(journey, latest)
        if check.status in RUNNING:
            return Progress(check, False, False, [], None)
        feedback = identity.check_feedback(check=check, now=now)
        passed = check.status == CheckStatus.PASSED
        step = COMPLETES[CheckPurpose(purpose)]
        completes = passed and journey.step == step
        if completes and purpose == CheckPurpose.DOCUMENT_READ:
            completes = _read_checks_passed(journey)
        if completes and step not in SUBMITS_AFTER:
            _advance(journey, step)
            _record(journey, "check_passed", ctx, purpose=purpose)
    if completes and step in SUBMITS_AFTER:
        journey_submit(journey_id=journey.pk, now=now, ctx=ctx)
    return Progress(check, True, passed, feedback.messages, feedback.tries_left)


# --- the four documents ---------------------------------------------------------------------------


def _document(session: BuyerSession, key: str):  # type: ignore[no-untyped-def]
    for document in case_documents_for_buyer(session.case):
        if document.key == key:
            return document
    raise NotFound(_("未找到该文书"))


def document_open(*, session: BuyerSession, key: str, now: datetime, ctx: RequestContext) -> tuple[bytes, str, str]:
    """One of the case's four documents for this session's buyer (bytes checked against their hash); the
    opening is recorded while the journey is not yet submitted."""
    if session.journey_id is None:
        raise NotFound(_("请先选择您是哪一位买受人"))
    document = _document(session, key)
    if document.stored is not None:
        content = document_read(document.stored, ctx=ctx)
        media_type = "application/pdf"
    else:
        with document.material.content.open("rb") as handle:
            content = handle.read()
        if hashlib.sha256(content).hexdigest() != document.material.sha256:
            raise MaterialAltered
        media_type = document.material.content_type
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(pk=session.journey_id, case_id=session.case_id)
        if journey.status != JourneyStatus.SUBMITTED:
            DocumentOpening.objects.create(
                journey=journey,
                document=key,
                sha256=document.sha256,
                **_evidence_fields(ctx, now),
            )
            _record(journey, "document_opened", ctx, document=key, sha256=document.sha256)
    return content, media_type, f"{document.title}.pdf"


@transaction.atomic
def documents_agree(*, session: BuyerSession, agree: bool, now: datetime, ctx: RequestContext) -> Journey:
    """同意继续: accepted only once every one of the four documents was opened, as it is now."""
    journey = _locked(session, step=steps.READ)
    documents = case_documents_for_buyer(journey.case)
    if len(documents) != len(DOCUMENT_KEYS):
        raise InvalidTransition(
            _("公证处文书尚未全部出具，请稍后再试"),
            code="documents_missing",
        )
    opened = journey_openings(journey)
    unopened = [d.title for d in documents if opened.get(d.key) != d.sha256]
    if unopened:
        raise field_error("agree", _("请先打开并阅读：%(titles)s"), params={"titles": Joined(unopened)})
    if not agree:
        raise field_error("agree", _("请勾选「同意继续」"))
    journey.agreed_at = now
    journey.save(update_fields=["agreed_at", "updated_at"])
    _advance(journey, steps.READ)
    _record(journey, "agreed", ctx, documents={d.key: d.sha256 for d in documents})
    return journey


# --- uploads and the signature --------------------------------------------------------------------


@transaction.atomic
def photos_put(*, session: BuyerSession, photos: dict[str, bytes], now: datetime, ctx: RequestContext) -> Journey:
    """The document's front and back and the photo holding it; any already sent stays (a retry sends the rest).
    Each file is checked before anything is stored, so a refused file changes nothing."""
    journey = _locked(session, step=steps.UPLOADS)
    cleaned = {}
    for slot, data in photos.items():
        if slot not in PHOTO_SLOTS:
            continue
        try:
            cleaned[slot] = sanitize_upload(data, kind="photo")
        except UploadRefused as refusal:
            raise _on_field(refusal, slot) from refusal
    for slot, clean in cleaned.items():
        _store_upload(journey, slot, clean.content, clean.media_type, ctx, now)
    have = journey_current_uploads(journey)
    if all(slot in have for slot in PHOTO_SLOTS):
        _advance(journey, steps.UPLOADS)
    return journey


def _on_field(refusal: UploadRefused, field: str) -> ValidationFailed:
    return ValidationFailed(
        refusal.text, params=refusal.params, fields={field: FieldMessage(refusal.text, params=refusal.params)}
    )


def signature_png(data_url: str) -> bytes:
    """The PNG inside the signature pad's data URL: a real PNG within the size limit, decoded, with ink on it."""
    prefix = "data:image/png;base64,"
    limit = settings.ECANCEL_BUYER_SIGNATURE_MAX_BYTES
    empty = field_error("signature", _("请先在框内签名"))
    too_large = field_error("signature", _("签名图片无效或过大，请重新签名"))
    if not data_url:
        raise empty
    if not data_url.startswith(prefix) or len(data_url) > limit * 4 // 3 + len(prefix) + 4:
        raise too_large
    try:
        png = base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise field_error("signature", _("签名图片无效，请重新签名")) from exc
    if not png.startswith(PNG_MAGIC) or len(png) > limit:
        raise too_large
    try:
        clean = sanitize_upload(png, kind="signature")
    except UploadRefused as refusal:
        raise _on_field(refusal, "signature") from refusal
    with Image.open(io.BytesIO(clean.content)) as image:
        drawn = image.convert("RGBA")
    paper = Image.new("RGBA", drawn.size, "white")
    paper.alpha_composite(drawn)
    if paper.convert("L").point(lambda v: 255 if v < 200 else 0).getbbox() is None:
        raise empty
    return clean.content


@transaction.atomic
def signature_put(*, session: BuyerSession, data_url: str, now: datetime, ctx: RequestContext) -> Journey:
    journey = _locked(session, step=steps.SIGNATURE)
    _store_upload(journey, UploadSlot.SIGNATURE, signature_png(data_url), "image/png", ctx, now)
    _advance(journey, steps.SIGNATURE)
    return journey
