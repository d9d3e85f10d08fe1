"""State changes of staff accounts: login attempts and lockout, second factor, passwords, API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecancel.accounts.models import TOKEN_PREFIX, ApiToken, Organisation, User, hash_token
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, ValidationFailed
from ecancel.core.ratelimit import RateLimited, Rule, Verdict, digest, rate_limiter
from ecancel.core.sql import Loaded, read_first


class LoginRefused(DomainError):
    """Wrong user name or password: one message for both, so nobody learns which names exist."""

    def __init__(self) -> None:
        super().__init__(
            text=gettext_lazy("用户名或密码不正确"),
            code="login_failed",
            http_status=401,
        )


class SecondFactorRefused(DomainError):
    def __init__(self) -> None:
        super().__init__(
            text=gettext_lazy("动态验证码不正确或已使用，请查看身份验证器中的最新验证码"),
            code="second_factor_failed",
            http_status=401,
        )


class SecondFactorThrottled(DomainError):
    """Codes typed in quick succession after a wrong one: a pause, not a guess, so it is not counted."""

    def __init__(self) -> None:
        super().__init__(
            text=gettext_lazy("输入过于频繁，请稍等几秒后再输入验证码"),
            code="second_factor_throttled",
            http_status=429,
        )


class AccountLocked(RateLimited):
    """Too many failures for one user name from one address; the same answer whether the name exists or not."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            verdict,
            text=gettext_lazy("该用户名在此网络地址连续登录失败次数过多，已暂停登录"),
            then=gettext_lazy("；如需提前解除，请联系本单位管理员"),
            code="account_locked",
        )


class LoginThrottled(RateLimited):
    """Too many failures from one address, whatever user names it tried."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            verdict,
            text=gettext_lazy("此网络地址登录失败次数过多"),
            code="login_throttled",
        )


def _lock_user(user_pk: int) -> User:
    return User.objects.select_for_update().get(pk=user_pk)


def login_user_rule() -> Rule:
    return Rule("login-user", settings.ECANCEL_LOGIN_MAX_FAILURES, settings.ECANCEL_LOGIN_LOCK)


def login_address_rule() -> Rule:
    return Rule("login-address", settings.ECANCEL_LOGIN_ADDRESS_MAX_FAILURES, settings.ECANCEL_LOGIN_ADDRESS_WINDOW)


def login_user_key(username: str) -> str:
    """Key prefix of one user name, case-folded so ``Alice`` and ``alice`` share their failures."""
    return f"{digest(username.casefold())}:"


def _address(ctx: RequestContext) -> str:
    return ctx.ip or "unknown"


def login_attempt_check(*, username: str, ctx: RequestContext) -> None:
    """Refuse, before any password is checked, an address or a user name and address out of attempts.

    Audited once per refusal while the address still has attempts; once the address itself is throttled its
    further tries are refused without a write, so a flood cannot fill the audit log.
    """
    refusal = login_lock(username=username, ctx=ctx)
    if isinstance(refusal, AccountLocked):
        login_attempt_refuse_locked(username=username, ctx=ctx)
    if refusal is not None:
        raise refusal


def login_lock(*, username: str, ctx: RequestContext) -> RateLimited | None:
    """Why this user name may not try to log in from this address now, if it may not; counts nothing."""
    limiter = rate_limiter()
    address = limiter.peek(login_address_rule(), _address(ctx))
    if address.exhausted:
        return LoginThrottled(address)
    pair = limiter.peek(login_user_rule(), login_user_key(username) + _address(ctx))
    return AccountLocked(pair) if pair.exhausted else None


def login_attempt_record_failure(*, username: str, user: User | None, reason: str, ctx: RequestContext) -> None:
    """Count one failed attempt for the user name at this address and for the address; audit it and any lock.

    Raises AccountLocked (after the count is stored) when this failure used up the user name's attempts at
    this address. Unknown user names count exactly like real ones, so the answers tell nobody which exist.
    """
    pair = _record_failure(username=username, user=user, reason=reason, ctx=ctx)
    if pair.exhausted:
        raise AccountLocked(pair)


@transaction.atomic
def _record_failure(*, username: str, user: User | None, reason: str, ctx: RequestContext) -> Verdict:
    limiter = rate_limiter()
    address = limiter.hit(login_address_rule(), _address(ctx))
    pair = limiter.hit(login_user_rule(), login_user_key(username) + _address(ctx))
    who: dict[str, Any] = {"actor": user} if user is not None else {"actor_label": username[:150]}
    record_event(
        "accounts.login.failed",
        data={"reason": reason if user is not None else "unknown_user", "failures_from_address": pair.count}
        | ({} if user is not None else {"username": username[:150]}),
        ctx=ctx,
        result="refused",
        **who,
    )
    if address.count == address.limit:
        record_event(
            "accounts.login.throttled",
            data={"failures": address.count, "retry_after": address.retry_after},
            ctx=ctx,
            result="refused",
        )
    if pair.count == pair.limit:
        record_event(
            "accounts.login.locked",
            data={"failures_from_address": pair.count, "retry_after": pair.retry_after},
            ctx=ctx,
            result="refused",
            **who,
        )
    return pair


@transaction.atomic
def login_attempt_refuse_locked(*, username: str, ctx: RequestContext) -> None:
    """An attempt while the user name is locked at this address: audited, and it does not extend the lock."""
    user = User.objects.filter(username=username).first()
    who: dict[str, Any] = {"actor": user} if user is not None else {"actor_label": username[:150]}
    record_event("accounts.login.failed", data={"reason": "locked"}, ctx=ctx, result="refused", **who)


@transaction.atomic
def login_attempt_record_success(*, user: User, second_factor: str, ctx: RequestContext) -> User:
    rate_limiter().reset(login_user_rule(), login_user_key(user.username) + _address(ctx))
    user = _lock_user(user.pk)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    record_event("accounts.login.succeeded", actor=user, data={"second_factor": second_factor}, ctx=ctx)
    return user


def login_password_check(*, request: HttpRequest, username: str, password: str, ctx: RequestContext) -> User:
    """The first login step. Raises LoginRefused, AccountLocked or LoginThrottled; each refusal is audited.

    Not one transaction on purpose: a refusal must keep its failure count after the exception.
    """
    login_attempt_check(username=username, ctx=ctx)
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        candidate = User.objects.filter(username=username).first()
        login_attempt_record_failure(username=username, user=candidate, reason="wrong_password", ctx=ctx)
        raise LoginRefused
    return user


def second_factor_check(*, user: User, device: TOTPDevice, token: str, ctx: RequestContext) -> None:
    """Verify a TOTP code for login or enrolment; a wrong code counts like a wrong password."""
    if device.user_id != user.pk:
        raise SecondFactorRefused
    login_attempt_check(username=user.username, ctx=ctx)
    if _totp_verify(device_pk=device.pk, token=token.strip().replace(" ", "")):
        return
    login_attempt_record_failure(username=user.username, user=user, reason="wrong_otp", ctx=ctx)
    raise SecondFactorRefused


@transaction.atomic
def _totp_verify(*, device_pk: int, token: str) -> bool:
    """The device's row is locked while the code is checked: the device keeps the time step of the last code it
    took, so a code sent to two servers at the same moment is taken once."""
    device = TOTPDevice.objects.select_for_update().get(pk=device_pk)
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        raise SecondFactorThrottled
    return token.isdigit() and bool(device.verify_token(token))


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
        raise InvalidTransition(gettext_lazy("该验证器已绑定，请重新登录"))
    second_factor_check(user=user, device=device, token=token, ctx=ctx)
    return _totp_device_mark_confirmed(user=user, device_pk=device.pk, ctx=ctx)


@transaction.atomic
def _totp_device_mark_confirmed(*, user: User, device_pk: int, ctx: RequestContext) -> TOTPDevice:
    device = TOTPDevice.objects.select_for_update().get(pk=device_pk, user=user)
    if device.confirmed:
        raise InvalidTransition(gettext_lazy("该验证器已绑定，请重新登录"))
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record_event("accounts.totp.enrolled", actor=user, data={"device": device.persistent_id}, ctx=ctx)
    return device


@transaction.atomic
def user_unlock(*, user: User, actor: User | None, ctx: RequestContext) -> User:
    """An administrator lifts the user's login locks, at every address, before they run out."""
    lifted = rate_limiter().reset_prefix(login_user_rule(), login_user_key(user.username))
    record_event(
        "accounts.user.unlocked",
        actor=actor,
        organisation=user.organisation,
        obj=user,
        data={"locks_lifted": lifted},
        ctx=ctx,
    )
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
        raise ValidationFailed(gettext_lazy("请填写令牌用途"))
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
        raise InvalidTransition(gettext_lazy("该令牌已吊销"))
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
    """The live token with this value, its organisation loaded; records when it was last used.

    Read in SQL (``core.sql``): every API call starts here.
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    found = read_first(
        (Loaded(ApiToken, "t"), Loaded(Organisation, "o")),
        "FROM accounts_apitoken t JOIN accounts_organisation o ON o.id = t.organisation_id"
        " WHERE t.token_hash = %s AND t.revoked_at IS NULL",
        [hash_token(raw)],
    )
    if found is None:
        return None
    token, organisation = found
    assert isinstance(token, ApiToken) and isinstance(organisation, Organisation)
    token.organisation = organisation
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
