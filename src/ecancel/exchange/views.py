"""The endpoint a peer deployment POSTs signed envelopes to: ``/exchange/``."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ecancel.core.context import RequestContext
from ecancel.exchange.errors import DuplicateMessage, ExchangeRefused
from ecancel.exchange.services import inbox_accept


def _answer(status: int, code: str, zh: str, en: str, **extra: object) -> JsonResponse:
    return JsonResponse({"status": code, "code": code, "message": zh, "message_en": en, **extra}, status=status)


@csrf_exempt
@require_POST
def receive(request: HttpRequest) -> JsonResponse:
    """200 applied / rejected / duplicate; 4xx refused (409 and 429 worth retrying); 5xx retry later."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.ECANCEL_EXCHANGE_MAX_BYTES:
        return _answer(413, "too_large", "消息过大", "message too large")
    raw = request.read(settings.ECANCEL_EXCHANGE_MAX_BYTES + 1)
    ctx = RequestContext.of(request, via="exchange")
    try:
        row = inbox_accept(raw, dict(request.headers), ctx=ctx)
    except DuplicateMessage as duplicate:
        return _answer(200, "duplicate", duplicate.zh, duplicate.en, message_id=str(duplicate.existing.pk))
    except ExchangeRefused as refusal:
        return _answer(refusal.http_status, refusal.code, refusal.zh, refusal.en)
    except Exception:  # noqa: BLE001 - logged and audited in inbox_accept; the sender retries on 5xx
        return _answer(500, "internal_error", "接收方处理失败，请稍后重试", "the receiver failed; retry later")
    return _answer(200, row.status, row.reason or "已接收", row.reason_en or "received", message_id=str(row.pk))
