"""API authentication: a staff session (CSRF-checked) or a per-organisation bearer token.

Either way ``request.auth`` is an :class:`ApiPrincipal`: the organisation acting, and the staff
user when there is one. Routers check the kind of organisation and the role they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyCookie, HttpBearer

from ecancel.accounts.auth import is_staff_session, role_fits_organisation
from ecancel.accounts.models import ApiToken, Organisation, User
from ecancel.accounts.services import api_token_authenticate
from ecancel.core.errors import NotFound


@dataclass(frozen=True)
class ApiPrincipal:
    organisation: Organisation
    user: User | None = None
    token: ApiToken | None = None

    @property
    def label(self) -> str:
        if self.user is not None:
            return str(self.user)
        return f"token:{self.token.prefix if self.token else '?'}"


class StaffSessionAuth(APIKeyCookie):
    """A logged-in staff session with its second factor; unsafe methods need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiPrincipal | None:
        if not is_staff_session(request):
            return None
        user = cast(User, request.user)
        if user.organisation is None or not role_fits_organisation(user):
            return None
        return ApiPrincipal(organisation=user.organisation, user=user)


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer ect_…``: a system integration acting for its organisation."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiPrincipal | None:
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        return ApiPrincipal(organisation=api_token.organisation, token=api_token)


def principal(request: HttpRequest) -> ApiPrincipal:
    return cast(ApiPrincipal, cast(Any, request).auth)


def require_organisation(request: HttpRequest, *kinds: str, roles: tuple[str, ...] = ()) -> ApiPrincipal:
    """The caller if it acts for an organisation of one of ``kinds`` (and, for staff, holds one of ``roles``).

    Anyone else gets 404, as on the pages: the API does not confirm what exists elsewhere.
    """
    who = principal(request)
    if who.organisation.kind not in kinds:
        raise NotFound(_("未找到该接口或记录"))
    if who.user is not None and roles and not who.user.has_role(*roles):
        raise NotFound(_("未找到该接口或记录"))
    return who
