"""Every login, however it happens, starts the session clock the session policy checks."""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

LOGIN_AT_KEY = "ecancel_login_at"
LAST_SEEN_KEY = "ecancel_last_seen"


@receiver(user_logged_in, dispatch_uid="ecancel.accounts.session_clock")
def start_session_clock(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[LOGIN_AT_KEY] = now
        request.session[LAST_SEEN_KEY] = now
