"""Staff session policy: 15 minutes idle and 12 hours after login, then log in again."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from ecancel.accounts.signals import LAST_SEEN_KEY, LOGIN_AT_KEY
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext

# Writing the session on every request costs a query; a minute's slack on the idle limit does not matter.
LAST_SEEN_RESOLUTION = 60.0


def session_expiry_reason(request: HttpRequest, now: float) -> str | None:
    """``"idle"``, ``"max_age"`` or None; a session without a clock was not started by a login and is void."""
    login_at = request.session.get(LOGIN_AT_KEY)
    last_seen = request.session.get(LAST_SEEN_KEY)
    if not isinstance(login_at, int | float) or not isinstance(last_seen, int | float):
        return "max_age"
    if now - login_at > settings.ECANCEL_STAFF_MAX_AGE.total_seconds():
        return "max_age"
    if now - last_seen > settings.ECANCEL_STAFF_IDLE.total_seconds():
        return "idle"
    return None


class StaffSessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            reason = session_expiry_reason(request, now)
            if reason is not None:
                record_event(
                    "accounts.session.expired",
                    actor=user,
                    data={"reason": reason},
                    ctx=RequestContext.of(request),
                )
                logout(request)
                if not request.path.startswith("/api/"):
                    query = urlencode({"next": request.get_full_path(), "expired": reason})
                    return HttpResponseRedirect(f"{reverse(settings.LOGIN_URL)}?{query}")
            elif now - request.session[LAST_SEEN_KEY] >= LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
