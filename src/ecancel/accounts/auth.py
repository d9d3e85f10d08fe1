"""Who counts as a logged-in staff member: password, second factor (or the demo skip) and a role.

Pages use :func:`staff_required` / :class:`StaffRequiredMixin`; the API uses :func:`is_staff_session`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import add_never_cache_headers
from django.views import View

from ecancel.accounts.models import ROLES_BY_KIND, Role, User

# Set at login when demo mode let a user in without a second factor; void once demo mode is off.
DEMO_SKIP_SESSION_KEY = "ecancel_2fa_demo_skip"

OPERATOR_ROLES = (Role.OPERATOR, Role.OPERATOR_ADMIN)
NOTARY_ROLES = (Role.NOTARY_CLERK, Role.NOTARY, Role.NOTARY_ADMIN)
FILING_ROLES = (Role.FILING_OFFICER,)

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def second_factor_done(request: HttpRequest) -> bool:
    """The session passed a TOTP check, or demo mode let it skip one."""
    user = request.user
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return True
    return bool(settings.ECANCEL_DEMO and request.session.get(DEMO_SKIP_SESSION_KEY))


def is_staff_session(request: HttpRequest) -> bool:
    """Logged in with password and second factor, and still active."""
    return bool(request.user.is_authenticated and request.user.is_active and second_factor_done(request))


def staff_user(request: HttpRequest) -> User:
    return cast(User, request.user)


def role_fits_organisation(user: User) -> bool:
    """A role only counts inside the kind of organisation it belongs to."""
    organisation = user.organisation
    if organisation is None:
        return False
    return user.role in ROLES_BY_KIND.get(organisation.kind, frozenset())


def check_staff(request: HttpRequest, roles: tuple[str, ...]) -> HttpResponse | None:
    """None when the request may go on; a login redirect for strangers; 404 for the wrong kind of staff."""
    if not is_staff_session(request):
        return redirect_to_login(request.get_full_path())
    user = staff_user(request)
    if roles and not (user.has_role(*roles) and role_fits_organisation(user)):
        # 404, not 403: staff of another kind of organisation learn nothing about what exists here.
        raise Http404
    return None


def staff_required(*roles: str) -> Callable[[ViewFunc], ViewFunc]:
    """Require a fully logged-in staff member holding one of ``roles`` (any role if none given)."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = check_staff(request, roles)
            if refusal is not None:
                return refusal
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)
            return response

        return cast(ViewFunc, wrapped)

    return decorator


class StaffRequiredMixin(View):
    """Class-based counterpart of :func:`staff_required`; set ``roles`` on the view."""

    roles: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refusal = check_staff(request, self.roles)
        if refusal is not None:
            return refusal
        response = super().dispatch(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response
