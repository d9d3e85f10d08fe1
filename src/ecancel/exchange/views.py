"""The endpoint a peer deployment POSTs signed envelopes to: ``/exchange/``."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ecancel.core.context import RequestContext
from ecancel.core.ratelimit import RateLimited, with_retry_after
from ecancel.exchange.envelope import HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP
from ecancel.exchange.errors import REFUSALS, DuplicateMessage, ExchangeRefused
from ecancel.exchange.services import inbox_accept, inbox_refusal_note, inbox_refusals_exhausted


def _answer(status: int, code: str, zh: str, en: str, **extra: object) -> JsonResponse:
    return JsonResponse({"status": code, "code": code, "message": zh, "message_en": en, **extra}, status=status)


# What a sender must declare before its body is read: a signed envelope carries all three headers.
REQUIRED_HEADERS = (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)
# A UUID, Unix seconds, and a few signatures: anything much longer is not a peer's header.
MAX_HEADER_LENGTH = {HEADER_ID: 64, HEADER_TIMESTAMP: 20, HEADER_SIGNATURE: 1000}


@csrf_exempt
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    """200 applied / rejected / duplicate; 4xx refused (409 and 429 worth retrying); 5xx retry later.

    Garbage is refused cheaply: an address refused often this minute, a missing or oversized length and
    missing headers are answered before the body is read or parsed; refusals are logged and audited sparingly.
    """
    ctx = RequestContext.of(request, via="exchange")
    throttled = inbox_refusals_exhausted(ctx)
    if throttled is not None:
        refusal = RateLimited(
            throttled,
            text=REFUSALS["rate_limited"],
        )
        response = _answer(429, refusal.code, refusal.zh, refusal.en)
        return with_retry_after(response, refusal.retry_after)
    early = _refuse_unread(request)
    if early is not None:
        inbox_refusal_note(early, ctx=ctx, headers=request.headers)
        return _answer(early.http_status, early.code, early.zh, early.en)
    raw = request.read(settings.ECANCEL_EXCHANGE_MAX_BYTES + 1)
    try:
        row = inbox_accept(raw, dict(request.headers), ctx=ctx)
    except DuplicateMessage as duplicate:
        return _answer(200, "duplicate", duplicate.zh, duplicate.en, message_id=str(duplicate.existing.pk))
    except ExchangeRefused as refusal:
        return _answer(refusal.http_status, refusal.code, refusal.zh, refusal.en)
    except Exception:  # noqa: BLE001 - logged and audited in inbox_accept; the sender retries on 5xx
        failed = ExchangeRefused("internal_error", http_status=500)
        return _answer(failed.http_status, failed.code, failed.zh, failed.en)
    return _answer(200, row.status, row.reason or "已接收", row.reason_en or "received", message_id=str(row.pk))


def _refuse_unread(request: HttpRequest) -> ExchangeRefused | None:
    """Why the request is refused from its length and headers alone, if it is."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = -1
    if length < 0:
        return ExchangeRefused("length_required", http_status=411)
    if length > settings.ECANCEL_EXCHANGE_MAX_BYTES:
        return ExchangeRefused("too_large", http_status=413)
    headers = {name: request.headers.get(name, "") for name in REQUIRED_HEADERS}
    if not all(headers.values()):
        return ExchangeRefused("missing_headers", detail=f"missing {'/'.join(REQUIRED_HEADERS)}")
    if any(len(value) > MAX_HEADER_LENGTH[name] for name, value in headers.items()):
        return ExchangeRefused("malformed_headers")
    return None
