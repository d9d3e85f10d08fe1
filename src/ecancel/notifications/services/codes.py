"""One-time codes by SMS: how a buyer finds their cases again on 我的 by phone number.

Six digits, kept only as a keyed digest; valid ``ECANCEL_OTP_TTL`` (5 minutes), used once, closed after
``ECANCEL_OTP_MAX_TRIES`` wrong tries; a new code replaces the previous one. Sending is limited per number (a
pause between codes and a count per hour) and per client address, through ``core.ratelimit``.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, FieldMessage, Text, field_error
from ecancel.core.ratelimit import RateLimited, Rule, Verdict, rate_limiter
from ecancel.notifications.contacts import code_digest, mask_address, normalise_phone, phone_digest
from ecancel.notifications.events import ONE_TIME_CODE
from ecancel.notifications.models import ChannelKind, CodePurpose, OneTimeCode
from ecancel.notifications.services.common import checked_language
from ecancel.notifications.services.delivery import delivery_create, send_after_commit

CODE_DIGITS = 6
_CODE = re.compile(r"[0-9]{6}")
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class CodeSent:
    expires_at: datetime
    resend_after: int  # seconds before another code may be asked for this number


@dataclass(frozen=True)
class CodeVerified:
    phone: str  # E.164, as subscriptions store it (``selectors.subscriptions_for_phone``)
    purpose: str
    verified_at: datetime


class TooManyCodes(RateLimited):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            verdict,
            text=_("获取验证码过于频繁"),
            code="too_many_codes",
        )


class OneTimeCodeRefused(DomainError):
    """A code that does not open: wrong (with the tries left), expired or never sent, or tried too often."""

    def __init__(
        self, code: str, text: Text, en: str | None = None, *, params: Mapping[str, Any] | None = None
    ) -> None:
        field = FieldMessage(text, en, params=params)
        super().__init__(text, en, params=params, code=code, fields={"code": field}, http_status=422)


class _Outcome(Enum):
    VERIFIED = "verified"
    WRONG = "wrong_code"
    LOCKED = "too_many_tries"
    EXPIRED = "expired"


def resend_rule() -> Rule:
    return Rule("otp-resend", 1, settings.ECANCEL_OTP_RESEND_AFTER)


def phone_rule() -> Rule:
    return Rule("otp-phone", settings.ECANCEL_OTP_SENDS_PER_PHONE, settings.ECANCEL_OTP_SEND_WINDOW)


def address_rule() -> Rule:
    return Rule("otp-address", settings.ECANCEL_OTP_SENDS_PER_ADDRESS, settings.ECANCEL_OTP_SEND_WINDOW)


def _checked_purpose(purpose: str) -> str:
    if purpose not in CodePurpose.values:
        raise field_error("purpose", _("不支持的验证码用途"))
    return purpose


def one_time_code_send(*, phone: str, purpose: str, ctx: RequestContext, now: datetime, language: str = "") -> CodeSent:
    """Issue a new code for ``phone`` and send it by SMS once this commits; the code itself is never returned."""
    phone, purpose, language = normalise_phone(phone), _checked_purpose(purpose), checked_language(language)
    digest, masked = phone_digest(phone), mask_address(ChannelKind.SMS, phone)
    limiter, moment = rate_limiter(), now.timestamp()
    limits = [(resend_rule(), digest), (phone_rule(), digest), (address_rule(), ctx.ip or UNKNOWN_ADDRESS)]
    for rule, key in limits:
        earlier = limiter.peek(rule, key, now=moment)
        if earlier.exhausted:
            record_event(
                "notifications.one_time_code.throttled",
                ctx=ctx,
                result="denied",
                data={"phone": masked, "purpose": purpose, "rule": rule.name},
            )
            raise TooManyCodes(earlier)
    with transaction.atomic():
        for rule, key in limits:
            limiter.hit(rule, key, now=moment)
        OneTimeCode.objects.filter(phone_digest=digest, purpose=purpose, closed_at__isnull=True).update(
            closed_at=now, closed_reason="replaced", updated_at=now
        )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        row = OneTimeCode(
            id=uuid4(),
            phone_digest=digest,
            phone_masked=masked,
            purpose=purpose,
            expires_at=now + settings.ECANCEL_OTP_TTL,
        )
        row.code_digest = code_digest(code, bound_to=str(row.pk))
        row.save(force_insert=True)
        minutes = int(settings.ECANCEL_OTP_TTL.total_seconds() // 60)
        delivery = delivery_create(
            kind=ChannelKind.SMS,
            address=phone,
            event=ONE_TIME_CODE,
            params={"code": code, "minutes": str(minutes)},
            language=language,
            one_time_code=row,
            expires_at=row.expires_at,
            now=now,
        )
        record_event("notifications.one_time_code.sent", obj=row, ctx=ctx, data={"phone": masked, "purpose": purpose})
        send_after_commit([delivery])
    return CodeSent(expires_at=row.expires_at, resend_after=resend_rule().window_seconds)


def one_time_code_verify(*, phone: str, purpose: str, code: str, now: datetime, ctx: RequestContext) -> CodeVerified:
    """The number is the caller's if ``code`` is its latest open code; otherwise a refusal saying what to do.

    A wrong try is committed before the refusal is raised, so call this outside any transaction of your own:
    a caller's rollback would forget the try.
    """
    phone, purpose = normalise_phone(phone), _checked_purpose(purpose)
    code = (code or "").strip()
    if not _CODE.fullmatch(code):
        raise field_error("code", _("验证码为 6 位数字"))
    outcome, tries_left = _check(phone_digest(phone), purpose, code, now=now, ctx=ctx)
    if outcome is _Outcome.VERIFIED:
        return CodeVerified(phone=phone, purpose=purpose, verified_at=now)
    if outcome is _Outcome.WRONG:
        raise OneTimeCodeRefused(
            "wrong_code",
            _("验证码不正确，还可以再试 %(n)d 次"),
            params={"n": tries_left},
        )
    if outcome is _Outcome.LOCKED:
        raise OneTimeCodeRefused(
            "too_many_tries",
            _("验证码错误次数过多，该验证码已失效，请重新获取"),
        )
    raise OneTimeCodeRefused(
        "code_expired",
        _("验证码已过期或尚未获取，请重新获取"),
    )


@transaction.atomic
def _check(digest: str, purpose: str, code: str, *, now: datetime, ctx: RequestContext) -> tuple[_Outcome, int]:
    row = (
        OneTimeCode.objects.select_for_update()
        .filter(phone_digest=digest, purpose=purpose, closed_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if row is None or row.expires_at <= now:
        if row is not None:
            _close(row, "expired", now)
        record_event(
            "notifications.one_time_code.refused",
            obj=row,
            ctx=ctx,
            result="denied",
            data={"purpose": purpose, "reason": _Outcome.EXPIRED.value},
        )
        return _Outcome.EXPIRED, 0
    if hmac.compare_digest(code_digest(code, bound_to=str(row.pk)), row.code_digest):
        _close(row, "used", now)
        record_event(
            "notifications.one_time_code.verified",
            obj=row,
            ctx=ctx,
            data={"phone": row.phone_masked, "purpose": purpose},
        )
        return _Outcome.VERIFIED, 0
    row.failed_attempts += 1
    row.save(update_fields=["failed_attempts", "updated_at"])
    tries_left = max(settings.ECANCEL_OTP_MAX_TRIES - row.failed_attempts, 0)
    outcome = _Outcome.WRONG if tries_left else _Outcome.LOCKED
    if outcome is _Outcome.LOCKED:
        _close(row, "too_many_tries", now)
    record_event(
        "notifications.one_time_code.refused",
        obj=row,
        ctx=ctx,
        result="denied",
        data={"phone": row.phone_masked, "purpose": purpose, "reason": outcome.value, "failed": row.failed_attempts},
    )
    return outcome, tries_left


def _close(row: OneTimeCode, reason: str, now: datetime) -> None:
    row.closed_at, row.closed_reason = now, reason
    row.save(update_fields=["closed_at", "closed_reason", "updated_at"])
