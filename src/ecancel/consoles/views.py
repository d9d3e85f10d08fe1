"""Staff login (password, then TOTP or first enrolment), logout, password change, and the role-based home."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecancel.accounts.auth import (
    DEMO_SKIP_SESSION_KEY,
    NOTARY_ROLES,
    OPERATOR_ROLES,
    is_staff_session,
    role_fits_organisation,
    staff_required,
    staff_user,
)
from ecancel.accounts.forms import LoginForm, TokenForm
from ecancel.accounts.models import Role, User
from ecancel.accounts.selectors import active_user_get, totp_device_enrolling_get
from ecancel.accounts.services import (
    login_attempt_record_success,
    login_lock,
    login_password_check,
    second_factor_check,
    totp_device_confirm,
    totp_device_confirmed,
    totp_device_start_enrolment,
    user_logout_record,
    user_password_change,
)
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.core.ratelimit import RateLimited, with_retry_after
from ecancel.documents.qr import qr_svg

PENDING_KEY = "ecancel_pending_login"
ENROL_DEVICE_KEY = "ecancel_enrol_device"
# Between the password and the second factor: long enough to open an authenticator app, no longer.
PENDING_SECONDS = 300

EXPIRY_MESSAGES = {
    "idle": _(
        "由于超过 15 分钟未操作，会话已结束，请重新登录。 / You were inactive for 15 minutes; please log in again."
    ),
    "max_age": _("登录已满 12 小时，请重新登录。 / Sessions last 12 hours; please log in again."),
}


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("consoles:home")


def _pending_user(request: HttpRequest) -> User | None:
    """The user who passed the password step in this session, if that was recent; locked or not."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user_pk = pending.get("user")
    if not isinstance(user_pk, int):
        return None
    return active_user_get(user_pk)


def _complete_login(request: HttpRequest, user: User, device: TOTPDevice | None) -> HttpResponse:
    pending = request.session.pop(PENDING_KEY, {})
    request.session.pop(ENROL_DEVICE_KEY, None)
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
        second_factor = "totp"
    else:
        request.session[DEMO_SKIP_SESSION_KEY] = True
        second_factor = "demo_skip"
    login_attempt_record_success(user=user, second_factor=second_factor, ctx=RequestContext.of(request))
    return HttpResponseRedirect(safe_next(request, pending.get("next")))


def _restart(request: HttpRequest, message: str) -> HttpResponse:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(ENROL_DEVICE_KEY, None)
    messages.error(request, message)
    return redirect("consoles:login")


def _refuse_for_now(request: HttpRequest, refusal: RateLimited, form: LoginForm | None = None) -> HttpResponse:
    """The login page at 429 with the limiter's message and Retry-After; a half-finished login starts over."""
    request.session.pop(PENDING_KEY, None)
    request.session.pop(ENROL_DEVICE_KEY, None)
    if form is not None:
        form.add_error(None, refusal.message)
    else:
        form = LoginForm()
        messages.error(request, refusal.message)
    response = render(request, "consoles/login.html", {"form": form}, status=refusal.http_status)
    return with_retry_after(response, refusal.retry_after)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if is_staff_session(request):
        return redirect(safe_next(request, request.GET.get("next")))
    expired = request.GET.get("expired")
    if request.method == "GET" and expired in EXPIRY_MESSAGES:
        messages.info(request, EXPIRY_MESSAGES[expired])
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ctx = RequestContext.of(request)
        try:
            user = login_password_check(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                ctx=ctx,
            )
        except RateLimited as refusal:
            return _refuse_for_now(request, refusal, form)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            device = totp_device_confirmed(user)
            request.session.cycle_key()
            request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": request.GET.get("next")}
            if device is None and settings.ECANCEL_DEMO:
                return _complete_login(request, user, None)
            return redirect("consoles:login_verify" if device is not None else "consoles:login_enrol")
    return render(request, "consoles/login.html", {"form": form})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return _restart(request, str(_("登录已超时，请重新输入用户名和密码。")))
    lock = login_lock(username=user.username, ctx=RequestContext.of(request))
    if lock is not None:
        return _refuse_for_now(request, lock)
    device = totp_device_confirmed(user)
    if device is None:
        return redirect("consoles:login_enrol")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            second_factor_check(
                user=user, device=device, token=form.cleaned_data["token"], ctx=RequestContext.of(request)
            )
        except RateLimited as refusal:
            return _refuse_for_now(request, refusal)
        except DomainError as exc:
            form.add_error("token", exc.message)
        else:
            return _complete_login(request, user, device)
    return render(request, "consoles/login_verify.html", {"form": form, "pending_user": user})


def _otpauth_url(device: TOTPDevice, user: User) -> str:
    """Key URI for authenticator apps, with ecancel as the issuer so the entry is recognisable."""
    secret = _base32_secret(device)
    label = quote(f"ecancel:{user.username}")
    return f"otpauth://totp/{label}?secret={secret}&issuer=ecancel&algorithm=SHA1&digits={device.digits}&period={device.step}"


def _base32_secret(device: TOTPDevice) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode().rstrip("=")


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_enrol_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return _restart(request, str(_("登录已超时，请重新输入用户名和密码。")))
    lock = login_lock(username=user.username, ctx=RequestContext.of(request))
    if lock is not None:
        return _refuse_for_now(request, lock)
    if totp_device_confirmed(user) is not None:
        return redirect("consoles:login_verify")
    device = totp_device_enrolling_get(user=user, device_id=request.session.get(ENROL_DEVICE_KEY))
    if device is None:
        device = totp_device_start_enrolment(user=user)
        request.session[ENROL_DEVICE_KEY] = device.pk
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = totp_device_confirm(
                user=user, device=device, token=form.cleaned_data["token"], ctx=RequestContext.of(request)
            )
        except RateLimited as refusal:
            return _refuse_for_now(request, refusal)
        except DomainError as exc:
            form.add_error("token", exc.message)
        else:
            messages.success(request, _("身份验证器已绑定。 / Authenticator enrolled."))
            return _complete_login(request, user, device)
    url = _otpauth_url(device, user)
    enrol_qr = qr_svg(url, dark="#1f2937")
    secret = _base32_secret(device)
    context: dict[str, Any] = {
        "form": form,
        "pending_user": user,
        "qr_svg": enrol_qr,
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }
    return render(request, "consoles/login_enrol.html", context)


@require_POST
@csrf_protect
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        user_logout_record(user=request.user, ctx=RequestContext.of(request))
    auth_logout(request)
    messages.success(request, _("您已安全退出。 / You have logged out."))
    return redirect("consoles:login")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@staff_required()
def password_change_view(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_password_change(
            user=user, new_password=form.cleaned_data["new_password1"], ctx=RequestContext.of(request)
        )
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改。 / Password changed."))
        return redirect("consoles:home")
    return render(request, "consoles/password_change.html", {"form": form})


@require_http_methods(["GET"])
@staff_required()
def home_view(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work is."""
    user = staff_user(request)
    if user.role == Role.SYSTEM_ADMIN or (user.is_superuser and not user.role):
        return redirect("admin:index")
    if role_fits_organisation(user):
        if user.role in OPERATOR_ROLES:
            return redirect("operator:contracts")
        if user.role in NOTARY_ROLES:
            return redirect("notary:home")
        if user.role == Role.FILING_OFFICER:
            return redirect("filing:city")
    return render(request, "consoles/home.html", {})
