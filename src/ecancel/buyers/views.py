"""The page a buyer's phone opens from the QR code: says whether the code still works, nothing more."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from ecancel.buyers.services import HandoffStatus, TooManyLookups, handoff_lookup
from ecancel.core.context import RequestContext
from ecancel.core.ratelimit import with_retry_after

# token_urlsafe(32) gives 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 100

HTTP_STATUS = {
    HandoffStatus.VALID: 200,
    HandoffStatus.INVALIDATED: 410,
    HandoffStatus.EXPIRED: 410,
    HandoffStatus.UNKNOWN: 404,
}


@require_GET
def handoff_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        resolution = handoff_lookup(raw=token[:MAX_TOKEN_LENGTH], ctx=RequestContext.of(request))
    except TooManyLookups as refusal:
        response = render(request, "buyers/handoff.html", {"throttled": refusal}, status=refusal.http_status)
        with_retry_after(response, refusal.retry_after)
    else:
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
