"""State changes of staff accounts: login attempts and lockout, second factor, passwords, API tokens."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecancel.accounts.models import ApiToken, Organisation, User, hash_token
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, ValidationFailed


class LoginRefused(DomainError):
    """Wrong user name or password: one message for both, so nobody learns which names exist."""

    def __init__(self) -> None:
        super().__init__(
            zh="用户名或密码不正确",
            en="Wrong user name or password",
            code="login_failed",
            http_status=401,
        )


class SecondFactorRefused(DomainError):
    def __init__(self) -> None:
        super().__init__(
            zh="动态验证码不正确或已使用，请查看身份验证器中的最新验证码",
            en="The one-time code is wrong or already used; enter the current code from your authenticator",
            code="second_factor_failed",
            http_status=401,
        )


class SecondFactorThrottled(DomainError):
    """Codes typed in quick succession after a wrong one: a pause, not a guess, so it is not counted."""

    def __init__(self) -> None:
        super().__init__(
            zh="输入过于频繁，请稍等几秒后再输入验证码",
            en="Too many codes in a short time; wait a few seconds and try again",
            code="second_factor_throttled",
            http_status=429,
        )


class AccountLocked(DomainError):
    def __init__(self, until: dt.datetime) -> None:
        local = timezone.localtime(until).strftime("%Y-%m-%d %H:%M")
        super().__init__(
            zh=f"连续登录失败次数过多，账户已锁定，请于 {local} 后再试，或联系本单位管理员",
            en=f"Too many failed attempts: the account is locked until {local}; try again then, or ask your admin",
            code="account_locked",
            http_status=403,
        )
        self.until = until


def _lock_user(user_pk: int) -> User:
    return User.objects.select_for_update().get(pk=user_pk)


@transaction.atomic
def login_attempt_record_failure(
    *, username: str, user: User | None, reason: str, ctx: RequestContext
) -> dt.datetime | None:
    """Count one failed attempt; the last allowed one locks the account. Returns the lock's end if now locked."""
    if user is None:
        record_event(
            "accounts.login.failed",
            data={"username": username[:150], "reason": "unknown_user"},
            ctx=ctx,
            result="refused",
            actor_label=username[:150],
        )
        return None
    user = _lock_user(user.pk)
    user.failed_login_count += 1
    record_event(
        "accounts.login.failed",
        actor=user,
        data={"reason": reason, "consecutive_failures": user.failed_login_count},
        ctx=ctx,
        result="refused",
    )
    locked_until = None
    if user.failed_login_count >= settings.ECANCEL_LOGIN_MAX_FAILURES:
        locked_until = timezone.now() + settings.ECANCEL_LOGIN_LOCK
        user.locked_until = locked_until
        record_event(
            "accounts.login.locked",
            actor=user,
            data={"consecutive_failures": user.failed_login_count, "locked_until": locked_until},
            ctx=ctx,
            result="refused",
        )
        # The lock is the penalty; afterwards the user gets a fresh set of attempts.
        user.failed_login_count = 0
    user.save(update_fields=["failed_login_count", "locked_until"])
    return locked_until


@transaction.atomic
def login_attempt_refuse_locked(*, user: User, ctx: RequestContext) -> None:
    """An attempt on a locked account: audited, and it does not extend the lock."""
    record_event(
        "accounts.login.failed",
        actor=user,
        data={"reason": "locked", "locked_until": user.locked_until},
        ctx=ctx,
        result="refused",
    )


@transaction.atomic
def login_attempt_record_success(*, user: User, second_factor: str, ctx: RequestContext) -> User:
    user = _lock_user(user.pk)
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login = timezone.now()
    user.save(update_fields=["failed_login_count", "locked_until", "last_login"])
    record_event("accounts.login.succeeded", actor=user, data={"second_factor": second_factor}, ctx=ctx)
    return user


def login_password_check(*, request: HttpRequest, username: str, password: str, ctx: RequestContext) -> User:
    """The first login step. Raises LoginRefused or AccountLocked; each refusal is counted and audited.

    Not one transaction on purpose: a refusal must keep its failure count after the exception.
    """
    candidate = User.objects.filter(username=username).first()
    if candidate is not None and candidate.is_locked():
        login_attempt_refuse_locked(user=candidate, ctx=ctx)
        assert candidate.locked_until is not None
        raise AccountLocked(candidate.locked_until)
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        locked_until = login_attempt_record_failure(username=username, user=candidate, reason="wrong_password", ctx=ctx)
        if locked_until is not None:
            raise AccountLocked(locked_until)
        raise LoginRefused
    return user


def second_factor_check(*, user: User, device: TOTPDevice, token: str, ctx: RequestContext) -> None:
    """Verify a TOTP code for login or enrolment; a wrong code counts like a wrong password."""
    if device.user_id != user.pk:
        raise SecondFactorRefused
    token = token.strip().replace(" ", "")
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        raise SecondFactorThrottled
    if token.isdigit() and device.verify_token(token):
        return
    locked_until = login_attempt_record_failure(username=user.username, user=user, reason="wrong_otp", ctx=ctx)
    if locked_until is not None:
        raise AccountLocked(locked_until)
    raise SecondFactorRefused


def totp_device_confirmed(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


@transaction.atomic
def totp_device_start_enrolment(*, user: User) -> TOTPDevice:
    """A fresh, unconfirmed device for the enrolment page; earlier unfinished attempts are dropped."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="ecancel", confirmed=False)


def totp_device_confirm(*, user: User, device: TOTPDevice, token: str, ctx: RequestContext) -> TOTPDevice:
    """Confirm the enrolment once the user proves the authenticator shows the right codes.

    The code is checked before the transaction so that a wrong code's failure count survives the refusal.
    """
    if device.confirmed or device.user_id != user.pk:
        raise InvalidTransition("该验证器已绑定，请重新登录", "This authenticator is already confirmed; log in again")
    second_factor_check(user=user, device=device, token=token, ctx=ctx)
    return _totp_device_mark_confirmed(user=user, device_pk=device.pk, ctx=ctx)


@transaction.atomic
def _totp_device_mark_confirmed(*, user: User, device_pk: int, ctx: RequestContext) -> TOTPDevice:
    device = TOTPDevice.objects.select_for_update().get(pk=device_pk, user=user)
    if device.confirmed:
        raise InvalidTransition("该验证器已绑定，请重新登录", "This authenticator is already confirmed; log in again")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record_event("accounts.totp.enrolled", actor=user, data={"device": device.persistent_id}, ctx=ctx)
    return device


@transaction.atomic
def user_unlock(*, user: User, actor: User | None, ctx: RequestContext) -> User:
    """An administrator lifts a lockout before it runs out."""
    user = _lock_user(user.pk)
    user.failed_login_count = 0
    user.locked_until = None
    user.save(update_fields=["failed_login_count", "locked_until"])
    record_event("accounts.user.unlocked", actor=actor, organisation=user.organisation, obj=user, ctx=ctx)
    return user


@transaction.atomic
def user_totp_reset(*, user: User, actor: User | None, ctx: RequestContext) -> int:
    """Drop a user's authenticators (a lost phone); the next login enrols a new one. Returns how many."""
    user = _lock_user(user.pk)
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    record_event(
        "accounts.totp.reset",
        actor=actor,
        organisation=user.organisation,
        obj=user,
        data={"devices_removed": removed},
        ctx=ctx,
    )
    return removed


@transaction.atomic
def user_logout_record(*, user: User, ctx: RequestContext) -> None:
    record_event("accounts.logout", actor=user, ctx=ctx)


@transaction.atomic
def user_password_change(*, user: User, new_password: str, ctx: RequestContext) -> User:
    """Set a password that already passed the configured validators (the form checks them)."""
    user = _lock_user(user.pk)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record_event("accounts.password.changed", actor=user, ctx=ctx)
    return user


@transaction.atomic
def api_token_create(
    *, organisation: Organisation, name: str, actor: User | None, ctx: RequestContext
) -> tuple[ApiToken, str]:
    """A new token for a system integration; the raw value is returned once and only its hash is kept."""
    name = name.strip()
    if not name:
        raise ValidationFailed("请填写令牌用途", "Give the token a name")
    raw = ApiToken.new_raw()
    token = ApiToken.objects.create(
        organisation=organisation,
        name=name[:100],
        prefix=raw[:12],
        token_hash=hash_token(raw),
        created_by=actor,
    )
    record_event(
        "accounts.api_token.created",
        actor=actor,
        organisation=organisation,
        obj=token,
        data={"name": token.name, "prefix": token.prefix},
        ctx=ctx,
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User | None, ctx: RequestContext) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise InvalidTransition("该令牌已吊销", "This token is already revoked")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    record_event(
        "accounts.api_token.revoked",
        actor=actor,
        organisation=token.organisation,
        obj=token,
        data={"prefix": token.prefix},
        ctx=ctx,
    )
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token with this value, its organisation loaded; records when it was last used."""
    if not raw.startswith("ect_"):
        return None
    token = (
        ApiToken.objects.select_related("organisation")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
