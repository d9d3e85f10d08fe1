"""Hand-off tokens in Django admin: visible to system admins, never editable (only a hash is kept anyway)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ecancel.audit.admin import SystemAdminOnly
from ecancel.buyers.models import HandoffToken


@admin.register(HandoffToken)
class HandoffTokenAdmin(SystemAdminOnly):
    list_display = ["case", "created_at", "expires_at", "invalidated_at", "invalidated_reason"]
    list_filter = ["invalidated_reason"]
    list_select_related = ["case"]
    search_fields = ["case__case_number"]
    ordering = ["-created_at"]
    fields = readonly_fields = (
        "case",
        "created_at",
        "expires_at",
        "invalidated_at",
        "invalidated_reason",
    )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
