"""我的: a buyer's applications, each with its status, timeline and messages, and status-change subscriptions.

A phone reaches the cases it went through (device cookie); any phone reaches the cases of a number it confirms
with a one-time code (kept in the session for ``MINE_PHONE_MINUTES``). Refusals are shown on the page.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from ecancel.buyers.mine import (
    MyApplication,
    Proofs,
    my_application,
    my_applications,
    my_certificate,
    my_certificate_download,
)
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.core.ratelimit import RateLimited, with_retry_after
from ecancel.documents.downloads import document_response
from ecancel.identity.masking import mask_name, mask_phone
from ecancel.notary.services.common import case_topic
from ecancel.notifications.models import ChannelKind
from ecancel.notifications.selectors import subscription_get
from ecancel.notifications.services.codes import one_time_code_send, one_time_code_verify
from ecancel.notifications.services.subscriptions import subscription_cancel, subscription_set

LOGIN_PURPOSE = "buyer_login"
PHONE_KEY = "buyer_mine_phone"
PHONE_UNTIL_KEY = "buyer_mine_phone_until"
MINE_PHONE_MINUTES = 30


def _proofs(request: HttpRequest) -> Proofs:
    phone, until = request.session.get(PHONE_KEY, ""), request.session.get(PHONE_UNTIL_KEY, 0)
    if phone and until < timezone.now().timestamp():
        phone = ""
    return Proofs(device=request.COOKIES.get(settings.ECANCEL_BUYER_DEVICE_COOKIE, ""), phone=phone)


def _page(request: HttpRequest, template: str, context: Mapping[str, object], status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _list_page(
    request: HttpRequest, *, error: DomainError | None = None, code_sent_to: str = "", status: int = 200
) -> HttpResponse:
    proofs = _proofs(request)
    context = {
        "applications": [_row(a) for a in my_applications(proofs)],
        "phone_confirmed": mask_phone(proofs.phone) if proofs.phone else "",
        "code_sent_to": code_sent_to,
        "error": error,
    }
    response = _page(request, "buyer/mine.html", context, status=status)
    if isinstance(error, RateLimited):
        with_retry_after(response, error.retry_after)
    return response


def _row(application: MyApplication) -> dict[str, object]:
    return {
        "case": application.case,
        "buyer": mask_name(application.party.name),
        "status": application.status,
        "status_label": application.status_label,
        "waiting_for_others": application.waiting_for_others,
    }


@require_GET
def mine_view(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@require_POST
def mine_code_view(request: HttpRequest) -> HttpResponse:
    """Send a one-time code to the number typed; the page then asks for the code."""
    phone = request.POST.get("phone", "")[:40]
    try:
        ctx, now = RequestContext.of(request), timezone.now()
        one_time_code_send(phone=phone, purpose=LOGIN_PURPOSE, ctx=ctx, now=now, language=get_language())
    except DomainError as error:
        return _list_page(request, error=error, status=error.http_status)
    return _list_page(request, code_sent_to=phone)


@require_POST
def mine_verify_view(request: HttpRequest) -> HttpResponse:
    phone, code = request.POST.get("phone", "")[:40], request.POST.get("code", "")[:12]
    now = timezone.now()
    try:
        verified = one_time_code_verify(
            phone=phone, purpose=LOGIN_PURPOSE, code=code, now=now, ctx=RequestContext.of(request)
        )
    except DomainError as error:
        return _list_page(request, error=error, code_sent_to=phone, status=error.http_status)
    request.session.cycle_key()
    request.session[PHONE_KEY] = verified.phone
    request.session[PHONE_UNTIL_KEY] = (now + timedelta(minutes=MINE_PHONE_MINUTES)).timestamp()
    return redirect("buyer:mine")


@require_POST
def mine_leave_view(request: HttpRequest) -> HttpResponse:
    """Forget the confirmed number on this phone (the device's own cases stay visible)."""
    request.session.pop(PHONE_KEY, None)
    request.session.pop(PHONE_UNTIL_KEY, None)
    return redirect("buyer:mine")


def _detail_page(
    request: HttpRequest, application: MyApplication, *, error: DomainError | None = None, status: int = 200
) -> HttpResponse:
    subscription = subscription_get(recipient=application.recipient, topic=case_topic(application.case))
    context = {
        "application": application,
        "buyer": mask_name(application.party.name),
        "subscription": subscription,
        "sms_on": bool(subscription and subscription.sms),
        "certificate": my_certificate(application),
        "error": error,
    }
    return _page(request, "buyer/mine_detail.html", context, status=status)


@require_GET
def mine_detail_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    try:
        application = my_application(_proofs(request), case_id)
    except DomainError as error:
        return _list_page(request, error=error, status=error.http_status)
    return _detail_page(request, application)


@require_GET
def mine_certificate_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """The issued certificate, to view or download: only for a case the buyer's own proofs reach."""
    try:
        application = my_application(_proofs(request), case_id)
    except DomainError as error:
        return _list_page(request, error=error, status=error.http_status)
    ctx = RequestContext.of(request)
    try:
        certificate = my_certificate_download(application, ctx=ctx)
    except DomainError as error:
        return _detail_page(request, application, error=error, status=error.http_status)
    return cast(HttpResponse, document_response(certificate, inline=request.GET.get("inline") == "1", ctx=ctx))


@require_POST
def mine_subscribe_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """订阅消息: SMS on each status change of this case (in-app messages are always kept), or stop them."""
    try:
        application = my_application(_proofs(request), case_id)
    except DomainError as error:
        return _list_page(request, error=error, status=error.http_status)
    ctx = RequestContext.of(request)
    topic = case_topic(application.case)
    try:
        if request.POST.get("sms") == "on":
            subscription_set(
                recipient=application.recipient,
                topic=topic,
                channels=[ChannelKind.SMS],
                phone=request.POST.get("phone", "")[:40],
                language=get_language(),
                ctx=ctx,
            )
        elif subscription_get(recipient=application.recipient, topic=topic) is not None:
            subscription_cancel(recipient=application.recipient, topic=topic, ctx=ctx)
    except DomainError as error:
        return _detail_page(request, application, error=error, status=error.http_status)
    return redirect("buyer:mine_detail", case_id=application.case.pk)
