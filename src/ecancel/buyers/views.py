"""The page a buyer's phone opens from the QR code: a valid token becomes a buyer session and the phone is sent
on to the journey without the token in the address; any other token gets a page saying why it does not work."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from ecancel.buyers.services import HandoffStatus, TooManyLookups
from ecancel.buyers.services.sessions import session_open
from ecancel.core.context import RequestContext
from ecancel.core.ratelimit import with_retry_after

# token_urlsafe(32) gives 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 100

HTTP_STATUS = {
    HandoffStatus.INVALIDATED: 410,
    HandoffStatus.EXPIRED: 410,
    HandoffStatus.UNKNOWN: 404,
}


def _set_cookie(response: HttpResponse, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=settings.SESSION_COOKIE_SECURE, samesite="Lax", path="/"
    )


@require_GET
def handoff_view(request: HttpRequest, token: str) -> HttpResponse:
    device = request.COOKIES.get(settings.ECANCEL_BUYER_DEVICE_COOKIE, "")
    try:
        entry = session_open(
            token=token[:MAX_TOKEN_LENGTH],
            device=device[:MAX_TOKEN_LENGTH],
            now=timezone.now(),
            ctx=RequestContext.of(request),
        )
    except TooManyLookups as refusal:
        response = render(request, "buyers/handoff.html", {"throttled": refusal}, status=refusal.http_status)
        with_retry_after(response, refusal.retry_after)
    else:
        if entry.session is not None:
            response = redirect("buyer:home")
            _set_cookie(response, settings.ECANCEL_BUYER_SESSION_COOKIE, entry.cookie, None)
            device_age = int(settings.ECANCEL_BUYER_DEVICE_AGE.total_seconds())
            _set_cookie(response, settings.ECANCEL_BUYER_DEVICE_COOKIE, entry.device, device_age)
        else:
            resolution = entry.resolution
            response = render(
                request,
                "buyers/handoff.html",
                {"status": resolution.status.value, "expires_at": resolution.expires_at},
                status=HTTP_STATUS[resolution.status],
            )
    add_never_cache_headers(response)
    # The token is in the URL: never hand it to another site, never let it be indexed.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
