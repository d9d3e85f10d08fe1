"""The database store of the rate limiter, for system administrators."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ecancel.audit.admin import SystemAdminOnly
from ecancel.core.models import RateLimitCounter


@admin.register(RateLimitCounter)
class RateLimitCounterAdmin(SystemAdminOnly):
    """Deleting a row lifts that wait early (e.g. a notary office's shared NAT address after many misses)."""

    list_display = ["key", "count", "window_start", "expires_at"]
    search_fields = ["key"]
    fields = readonly_fields = ("key", "count", "window_start", "expires_at")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj)
