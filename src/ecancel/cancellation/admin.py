"""Cancellation applications in Django admin: read-only, for system admins.

Every change to an application is a service with its checks, its audit event and its message to the
notary office; the admin only shows what happened (ID numbers masked).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ecancel.audit.admin import SystemAdminOnly
from ecancel.cancellation.models import Applicant, Application, ApplicationPush
from ecancel.identity.id_numbers import mask_id_number


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApplicantInline(ReadOnly, admin.TabularInline):
    model = Applicant
    readonly_fields = fields = ("position", "name", "id_type", "masked_id_number", "phone", "submitted_at")
    extra = 0

    @admin.display(description=_("证件号码"))
    def masked_id_number(self, obj: Applicant) -> str:
        return mask_id_number(obj.id_number)


class PushInline(ReadOnly, admin.TabularInline):
    model = ApplicationPush
    readonly_fields = fields = (
        "version",
        "message_type",
        "notary_office",
        "outcome",
        "case_number",
        "handoff_expires_at",
        "created_at",
    )
    extra = 0


@admin.register(Application)
class ApplicationAdmin(ReadOnly, SystemAdminOnly):
    list_display = ["number", "contract", "seller", "status", "version", "notary_office", "updated_at"]
    list_filter = ["status", "seller", "notary_office"]
    search_fields = ["number", "contract__contract_no", "applicants__name"]
    list_select_related = ["contract", "seller", "notary_office"]
    readonly_fields = fields = (
        "number",
        "contract",
        "seller",
        "status",
        "version",
        "reason",
        "reason_detail",
        "refund_amount",
        "refund_method",
        "refund_days",
        "notary_office",
        "notary_message_code",
        "notary_message",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = [ApplicantInline, PushInline]
