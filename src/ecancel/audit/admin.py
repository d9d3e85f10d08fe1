"""The audit log in Django admin: system admins may read it; nobody may add, change or delete a row."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ecancel.accounts.models import Role
from ecancel.audit.models import AuditEvent


def is_system_admin(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(
        user.is_active and user.is_staff and (user.is_superuser or getattr(user, "role", "") == Role.SYSTEM_ADMIN)
    )


class SystemAdminOnly(admin.ModelAdmin):
    """Admin pages only system admins see, whatever model permissions a staff user was granted."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_system_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_system_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_system_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_system_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


EVENT_FIELDS = (
    "seq",
    "occurred_at",
    "tag",
    "result",
    "actor",
    "actor_label",
    "organisation",
    "object_type",
    "object_id",
    "data",
    "ip",
    "user_agent",
    "request_id",
    "prev_hash",
    "row_hash",
)


@admin.register(AuditEvent)
class AuditEventAdmin(SystemAdminOnly):
    """Read-only: the chain's rows are evidence, so the admin offers no way to alter one."""

    list_display_links = ["seq", "tag"]
    list_display = ["seq", "occurred_at", "tag", "result", "actor_label", "organisation", "object_type", "ip"]
    list_filter = ["result", "object_type"]
    search_fields = ["tag", "object_id", "actor_label", "request_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["organisation"]
    ordering = ["-id"]
    show_full_result_count = False
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
