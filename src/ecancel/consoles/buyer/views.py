"""The buyers' phone pages (manual 7.1 / 7.2): parse, call one buyers service, render.

Every page starts from the buyer session in the cookie (``buyer_page``), never from an id in the request.
Forms post like plain HTML forms; a request marked ``X-Requested-With: XMLHttpRequest`` (the page scripts)
gets JSON ``{"ok", "next"}`` / ``{"ok": false, "message"}`` instead of a redirect or a page.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ecancel.buyers import steps
from ecancel.buyers.consents import consent_text
from ecancel.buyers.models import BuyerSession, CheckPurpose, ConsentKind, Journey, UploadSlot
from ecancel.buyers.selectors import (
    case_agents,
    case_buyers,
    case_documents_for_buyer,
    journey_current_uploads,
    journey_openings,
)
from ecancel.buyers.services import journey as journeys
from ecancel.buyers.services.sessions import SessionEnded, session_resume
from ecancel.buyers.transitions import JourneyStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.core.ratelimit import RateLimited, with_retry_after
from ecancel.identity.masking import mask_id_number, mask_name

STEP_URLS = {
    steps.CONSENT: "buyer:consent",
    steps.FACE: "buyer:face",
    steps.FACE_AGAIN: "buyer:face_again",
    steps.DOCUMENT_KIND: "buyer:document_kind",
    steps.DOCUMENT_READ: "buyer:document_read",
    steps.READ: "buyer:read",
    steps.UPLOADS: "buyer:uploads",
    steps.SIGNATURE: "buyer:signature",
    steps.VIDEO: "buyer:video",
    steps.SUBMIT: "buyer:submit",
    steps.DONE: "buyer:done",
}
ACTIONS = {
    "turn_left": gettext_lazy("请向左转头"),
    "turn_right": gettext_lazy("请向右转头"),
    "nod": gettext_lazy("请点头"),
}
MAX_FRAMES = 30

Page = Callable[..., HttpResponse]


def step_url(journey: Journey) -> str:
    return reverse(STEP_URLS[journey.step])


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _refusal(request: HttpRequest, error: DomainError, *, next_url: str = "") -> HttpResponse:
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"ok": False, "code": error.code, "message": error.message, "message_en": error.message_en},
            status=error.http_status,
        )
    else:
        context = {
            "code": error.code,
            "heading": _("请重新扫码") if isinstance(error, SessionEnded) else _("未能完成"),
            "message": error.message,
            "next_url": next_url,
        }
        response = render(request, "buyer/error.html", context, status=error.http_status)
    if isinstance(error, RateLimited):
        with_retry_after(response, error.retry_after)
    return response


def _done(request: HttpRequest, next_url: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": True, "next": next_url})
    return redirect(next_url)


def buyer_page(view: Page, *, poll: bool = False) -> Page:
    """Resume the buyer session from the cookies (clock read once here) and turn refusals into pages; a ``poll``
    view (its URL names the ``purpose`` polled) resumes it with only what a status poll reads (``session_resume``)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from django.conf import settings

        now = timezone.now()
        try:
            session = session_resume(
                cookie=request.COOKIES.get(settings.ECANCEL_BUYER_SESSION_COOKIE, ""),
                device=request.COOKIES.get(settings.ECANCEL_BUYER_DEVICE_COOKIE, ""),
                now=now,
                poll=str(kwargs["purpose"]) if poll else None,
            )
        except SessionEnded as ended:
            response = _refusal(request, ended)
        else:
            try:
                response = view(request, session, now, *args, **kwargs)
            except DomainError as error:
                back = step_url(session.journey) if session.journey is not None else reverse("buyer:home")
                response = _refusal(request, error, next_url=back)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def _ctx(request: HttpRequest) -> RequestContext:
    return RequestContext.of(request)


def _journey(session: BuyerSession) -> Journey | None:
    return session.journey


def _step_page(
    request: HttpRequest, session: BuyerSession, step: str, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    journey = session.journey
    assert journey is not None
    all_steps = steps.journey_steps(journey)
    context = {
        "journey": journey,
        "step": step,
        "step_title": steps.TITLES[step],
        "step_number": all_steps.index(step) + 1,
        "step_count": len(all_steps),
        **context,
    }
    return render(request, template, context, status=status)


def _guard(request: HttpRequest, session: BuyerSession, step: str) -> HttpResponse | None:
    """Elsewhere than ``step``: send the buyer to the step they are at (submitted: to 申请成功). Anything
    posted after submission is refused with 409."""
    journey = session.journey
    if journey is None:
        return redirect("buyer:home")
    if request.method == "POST" and journey.status == JourneyStatus.SUBMITTED:
        raise journeys.submitted_refusal()
    if journey.step != step:
        return redirect(step_url(journey))
    return None


# --- choose ---------------------------------------------------------------------------------------


@require_GET
@buyer_page
def home_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    journey = session.journey
    if journey is not None and journey.status != JourneyStatus.SUBMITTED:
        return redirect(step_url(journey))
    return _choose_page(request, session)


def _choose_page(request: HttpRequest, session: BuyerSession, error: str = "", status: int = 200) -> HttpResponse:
    agents = case_agents(session.case)
    rows = []
    for buyer in case_buyers(session.case):
        journey = getattr(buyer, "journey", None)
        state = JourneyStatus(journey.status) if journey is not None else JourneyStatus.NOT_STARTED
        rows.append(
            {
                "position": buyer.position,
                "name": mask_name(buyer.name),
                "id_number": mask_id_number(buyer.id_number),
                "status": state.value,
                "status_label": state.label,
                "agents": [mask_name(a.name) for a in agents if buyer.position in (a.acts_for or [])],
            }
        )
    context = {"case": session.case, "buyers": rows, "error": error}
    return render(request, "buyer/choose.html", context, status=status)


@require_POST
@buyer_page
def choose_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    try:
        position = int(request.POST.get("buyer", ""))
    except ValueError:
        return _choose_page(request, session, _("请选择一位买受人"), status=422)
    try:
        journey = journeys.journey_choose(
            session=session,
            buyer_position=position,
            as_agent=bool(request.POST.get("as_agent")),
            now=now,
            ctx=_ctx(request),
        )
    except RateLimited:
        raise
    except DomainError as error:
        return _choose_page(request, session, error.message, status=error.http_status)
    return redirect(step_url(journey))


# --- consents -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@buyer_page
def consent_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.CONSENT)) is not None:
        return away
    error = None
    if request.method == "POST":
        try:
            journey = journeys.consents_record(
                session=session,
                face_processing=request.POST.get("face_processing") == "yes",
                transfer=request.POST.get("transfer") == "yes",
                now=now,
                ctx=_ctx(request),
            )
        except DomainError as refusal:
            error = refusal
        else:
            return _done(request, step_url(journey))
    office = session.case.office.organisation.name
    texts = {kind: consent_text(kind, office=office) for kind in ConsentKind.values}
    context: dict[str, Any] = {
        "face_text": texts[ConsentKind.FACE_PROCESSING],
        "transfer_text": texts[ConsentKind.TRANSFER_TO_NOTARY],
        "error": error,
    }
    return _step_page(
        request, session, steps.CONSENT, "buyer/consent.html", context, error.http_status if error else 200
    )


# --- identity checks ------------------------------------------------------------------------------


def _progress_html(request: HttpRequest, progress: journeys.Progress, purpose: str, retry_url: str) -> str:
    return render_to_string(
        "buyer/_progress.html", {"progress": progress, "purpose": purpose, "retry_url": retry_url}, request=request
    )


@require_GET
@functools.partial(buyer_page, poll=True)
def poll_view(request: HttpRequest, session: BuyerSession, now: datetime, purpose: str) -> HttpResponse:
    if purpose not in CheckPurpose.values:
        return JsonResponse({"done": True, "html": "", "next": None}, status=404)
    progress = journeys.journey_check_progress(session=session, purpose=purpose, now=now, ctx=_ctx(request))
    journey = session.journey
    assert journey is not None
    if progress.done:  # only a finished check moves the journey on
        journey.refresh_from_db(fields=["step", "status"])
    here = step_url(journey)
    return JsonResponse(
        {
            "done": progress.done,
            "html": _progress_html(request, progress, purpose, here),
            "next": here if progress.done and progress.passed else None,
        }
    )


def _waiting(request: HttpRequest, session: BuyerSession, step: str, purpose: str, progress: Any) -> HttpResponse:
    context = {"purpose": purpose, "progress": progress, "poll_url": reverse("buyer:poll", args=[purpose])}
    return _step_page(request, session, step, "buyer/waiting.html", context)


def _settle(request: HttpRequest, session: BuyerSession, purpose: str, now: datetime) -> journeys.Progress:
    """Where the latest check of ``purpose`` stands; a passed one moves the journey on (re-read after)."""
    progress = journeys.journey_check_progress(session=session, purpose=purpose, now=now, ctx=_ctx(request))
    assert session.journey is not None
    session.journey.refresh_from_db()
    return progress


@require_http_methods(["GET", "POST"])
@buyer_page
def face_view(request: HttpRequest, session: BuyerSession, now: datetime, step: str) -> HttpResponse:
    if (away := _guard(request, session, step)) is not None:
        return away
    journey = session.journey
    assert journey is not None
    purpose = journeys.FACE_STEPS[step]
    if request.method == "POST":
        frames = tuple(f.read() for f in request.FILES.getlist("frames")[:MAX_FRAMES])
        recorded = request.FILES.get("video")
        video = recorded.read() if recorded is not None else None
        try:
            check_id = uuid.UUID(request.POST.get("check", ""))
        except ValueError:
            check_id = uuid.uuid4()
        journeys.face_capture_submit(
            session=session,
            check_id=check_id,
            nonce=request.POST.get("nonce", ""),
            frames=frames,
            video=video,
            now=now,
            ctx=_ctx(request),
        )
        return _done(request, reverse(STEP_URLS[step]))
    progress = _settle(request, session, purpose, now)
    if journey.step != step or journey.status == JourneyStatus.SUBMITTED:
        return redirect(step_url(journey))
    if progress.check is not None and not progress.done and progress.check.status == "processing":
        return _waiting(request, session, step, purpose, progress)
    if progress.done and not progress.passed and not request.GET.get("again"):
        return _step_page(request, session, step, "buyer/face.html", {"failed": progress})
    if step == steps.FACE and journeys.needs_reference(journey):
        reference = _settle(request, session, CheckPurpose.DOCUMENT_READ, now)
        if reference.check is not None and not reference.done:
            return _waiting(request, session, step, CheckPurpose.DOCUMENT_READ, reference)
        if journeys.needs_reference(journey):
            failed = reference if reference.done and not reference.passed else None
            return _step_page(request, session, step, "buyer/face.html", {"reference": True, "failed": failed})
    check = journeys.face_begin(
        session=session,
        return_url=request.build_absolute_uri(reverse("buyer:face_return")),
        now=now,
        ctx=_ctx(request),
    )
    context = {
        "check": check,
        "action_text": ACTIONS.get(check.action, gettext_lazy("请正对镜头")),
        "hosted": check.redirect_url,
    }
    return _step_page(request, session, step, "buyer/face.html", context)


@require_POST
@buyer_page
def face_reference_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    upload = request.FILES.get("document_front")
    journeys.face_reference_submit(session=session, image=upload.read() if upload else b"", now=now, ctx=_ctx(request))
    return _done(request, reverse("buyer:face"))


@require_GET
@buyer_page
def face_return_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    """Back from a hosted face flow: the provider's server is asked for the result, never the browser."""
    journey = session.journey
    if journey is None or journey.step not in journeys.FACE_STEPS:
        return redirect("buyer:home")
    check = journeys.face_begin(session=session, return_url="", now=now, ctx=_ctx(request))
    journeys.face_capture_submit(session=session, check_id=check.pk, nonce=check.nonce, now=now, ctx=_ctx(request))
    return redirect(step_url(journey))


@require_http_methods(["GET", "POST"])
@buyer_page
def document_kind_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.DOCUMENT_KIND)) is not None:
        return away
    if request.method == "POST":
        journey = journeys.document_kind_choose(
            session=session, kind=request.POST.get("kind", ""), now=now, ctx=_ctx(request)
        )
        return _done(request, step_url(journey))
    kinds = list(steps.FOREIGN_DOCUMENTS.items())
    return _step_page(request, session, steps.DOCUMENT_KIND, "buyer/document_kind.html", {"kinds": kinds})


@require_http_methods(["GET", "POST"])
@buyer_page
def document_read_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.DOCUMENT_READ)) is not None:
        return away
    journey = session.journey
    assert journey is not None
    if request.method == "POST":
        front, back = request.FILES.get("front"), request.FILES.get("back")
        journeys.document_read_submit(
            session=session,
            front=front.read() if front else b"",
            back=back.read() if back else None,
            now=now,
            ctx=_ctx(request),
        )
        return _done(request, reverse("buyer:document_read"))
    progress = _settle(request, session, CheckPurpose.DOCUMENT_READ, now)
    if journey.step != steps.DOCUMENT_READ:
        return redirect(step_url(journey))
    if progress.check is not None and not progress.done:
        return _waiting(request, session, steps.DOCUMENT_READ, CheckPurpose.DOCUMENT_READ, progress)
    context = {
        "failed": progress if progress.done and not progress.passed else None,
        "kind_label": steps.FOREIGN_DOCUMENTS.get(journey.document_kind, _("居民身份证")),
        "needs_back": journey.document_kind == steps.MAINLAND_ID,
    }
    return _step_page(request, session, steps.DOCUMENT_READ, "buyer/document_read.html", context)


# --- the four documents ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@buyer_page
def read_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.READ)) is not None:
        return away
    error = None
    if request.method == "POST":
        try:
            journey = journeys.documents_agree(
                session=session, agree=request.POST.get("agree") == "yes", now=now, ctx=_ctx(request)
            )
        except DomainError as refusal:
            error = refusal
        else:
            return _done(request, step_url(journey))
    current = session.journey
    assert current is not None
    opened = journey_openings(current)
    documents = [
        {"key": d.key, "title": d.title, "opened": opened.get(d.key) == d.sha256}
        for d in case_documents_for_buyer(session.case)
    ]
    context = {"documents": documents, "error": error, "all_opened": all(d["opened"] for d in documents)}
    return _step_page(request, session, steps.READ, "buyer/read.html", context, error.http_status if error else 200)


@require_GET
@buyer_page
def document_view(request: HttpRequest, session: BuyerSession, now: datetime, key: str) -> HttpResponse:
    """One of the four documents, inline, for this session's case only; the opening is recorded."""
    content, media_type, filename = journeys.document_open(session=session, key=key, now=now, ctx=_ctx(request))
    response = HttpResponse(content, content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- uploads, signature, video, submission --------------------------------------------------------


@require_http_methods(["GET", "POST"])
@buyer_page
def uploads_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.UPLOADS)) is not None:
        return away
    journey = session.journey
    assert journey is not None
    if request.method == "POST":
        photos: dict[str, bytes] = {}
        for slot in journeys.PHOTO_SLOTS:
            upload = request.FILES.get(slot)
            if upload is not None:
                photos[str(slot)] = upload.read()
        journey = journeys.photos_put(session=session, photos=photos, now=now, ctx=_ctx(request))
        return _done(request, step_url(journey))
    have = journey_current_uploads(journey)
    slots = [{"name": slot, "label": UploadSlot(slot).label, "done": slot in have} for slot in journeys.PHOTO_SLOTS]
    return _step_page(request, session, steps.UPLOADS, "buyer/uploads.html", {"slots": slots})


@require_http_methods(["GET", "POST"])
@buyer_page
def signature_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.SIGNATURE)) is not None:
        return away
    if request.method == "POST":
        journey = journeys.signature_put(
            session=session, data_url=request.POST.get("signature", ""), now=now, ctx=_ctx(request)
        )
        return _done(request, step_url(journey))
    return _step_page(request, session, steps.SIGNATURE, "buyer/signature.html", {})


@require_http_methods(["GET", "POST"])
@buyer_page
def video_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.VIDEO)) is not None:
        return away
    journey = session.journey
    assert journey is not None
    if request.method == "POST":
        try:
            check_id = uuid.UUID(request.POST.get("check", ""))
        except ValueError:
            check_id = uuid.uuid4()
        upload = request.FILES.get("video")
        journeys.video_submit(
            session=session,
            check_id=check_id,
            nonce=request.POST.get("nonce", ""),
            video=upload.read() if upload else b"",
            now=now,
            ctx=_ctx(request),
        )
        return _done(request, reverse("buyer:video"))
    progress = _settle(request, session, CheckPurpose.VIDEO, now)
    if journey.step != steps.VIDEO:
        return redirect(step_url(journey))
    if progress.check is not None and not progress.done and progress.check.status == "processing":
        return _waiting(request, session, steps.VIDEO, CheckPurpose.VIDEO, progress)
    check = journeys.video_begin(session=session, now=now, ctx=_ctx(request))
    context = {"check": check, "failed": progress if progress.done and not progress.passed else None}
    return _step_page(request, session, steps.VIDEO, "buyer/video.html", context)


@require_http_methods(["GET", "POST"])
@buyer_page
def submit_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.SUBMIT)) is not None:
        return away
    journey = session.journey
    assert journey is not None
    if request.method == "POST":
        journeys.final_check_submit(session=session, now=now, ctx=_ctx(request))
        return _done(request, reverse("buyer:submit"))
    progress = _settle(request, session, CheckPurpose.FINAL_DOCUMENT, now)
    if journey.step != steps.SUBMIT:
        return redirect(step_url(journey))
    if progress.check is not None and not progress.done:
        return _waiting(request, session, steps.SUBMIT, CheckPurpose.FINAL_DOCUMENT, progress)
    context = {"failed": progress if progress.done and not progress.passed else None}
    return _step_page(request, session, steps.SUBMIT, "buyer/submit.html", context)


@require_http_methods(["GET", "POST"])
@buyer_page
def done_view(request: HttpRequest, session: BuyerSession, now: datetime) -> HttpResponse:
    if (away := _guard(request, session, steps.DONE)) is not None:
        return away
    return _step_page(request, session, steps.DONE, "buyer/done.html", {})
