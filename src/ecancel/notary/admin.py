"""Notary cases in Django admin: system admins may look; changes happen only through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ecancel.audit.admin import SystemAdminOnly
from ecancel.identity.id_numbers import mask_id_number
from ecancel.notary.models import (
    CaseNumberCounter,
    CaseParty,
    DeletionRecord,
    IntakeRefusal,
    NotaryCase,
    OfficeCalendarDay,
    ReceivedMaterial,
)


class ReadOnlyAdmin(SystemAdminOnly):
    """Cases are a notarial record: a status or a received file changed by hand would be a forgery."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PartyInline(ReadOnlyInline):
    model = CaseParty
    fields = readonly_fields = (
        "role",
        "position",
        "name",
        "id_type",
        "masked_id_number",
        "is_mainland",
        "submitted_at",
    )

    @admin.display(description=_("证件号码"))
    def masked_id_number(self, party: CaseParty) -> str:
        return mask_id_number(party.id_number)


class MaterialInline(ReadOnlyInline):
    model = ReceivedMaterial
    fields = readonly_fields = (
        "kind",
        "attachment_name",
        "content_type",
        "sha256",
        "size",
        "signer",
        "signature_checked",
    )


CASE_FIELDS = (
    "case_number",
    "office",
    "status",
    "application_ref",
    "application_no",
    "application_version",
    "previous_case",
    "seller",
    "contract_no",
    "filing_no",
    "location",
    "reason_label",
    "reason_text",
    "changes",
    "pushed_by",
    "pushed_at",
    "received_at",
    "closed_at",
    "closed_reason",
    "assignee",
    "assigned_at",
    "source_message_id",
)


@admin.register(NotaryCase)
class NotaryCaseAdmin(ReadOnlyAdmin):
    list_display = ["case_number", "office", "status", "seller", "contract_no", "application_version", "received_at"]
    list_filter = ["status", "office"]
    list_select_related = ["office__organisation", "seller"]
    search_fields = ["case_number", "contract_no", "application_no", "=application_ref"]
    ordering = ["-received_at"]
    fields = CASE_FIELDS
    readonly_fields = CASE_FIELDS
    inlines = [PartyInline, MaterialInline]


@admin.register(IntakeRefusal)
class IntakeRefusalAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "office", "seller", "contract_no", "application_version", "code"]
    list_filter = ["code", "office"]
    search_fields = ["contract_no", "=application_ref"]
    ordering = ["-created_at"]
    fields = readonly_fields = (
        "office",
        "seller",
        "application_ref",
        "application_version",
        "contract_no",
        "code",
        "reason",
    )


@admin.register(CaseNumberCounter)
class CaseNumberCounterAdmin(ReadOnlyAdmin):
    list_display = ["office", "year", "last"]
    list_filter = ["year"]
    fields = readonly_fields = (
        "office",
        "year",
        "last",
    )


@admin.register(DeletionRecord)
class DeletionRecordAdmin(ReadOnlyAdmin):
    """The signed records of the retention purge: kept, never edited or deleted (``ecancel purge --verify``)."""

    list_display = ["started_at", "completed_at", "counts", "sha256"]
    fields = readonly_fields = (
        "started_at",
        "completed_at",
        "cutoffs",
        "counts",
        "items",
        "sha256",
        "public_key",
        "signature",
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OfficeCalendarDay)
class OfficeCalendarDayAdmin(SystemAdminOnly):
    """Each office's holidays and 调休 working days, from which review deadlines are counted."""

    list_display = ["day", "office", "kind", "note"]
    list_filter = ["office", "kind"]
    list_select_related = ["office__organisation"]
    date_hierarchy = "day"
    ordering = ["-day"]
    fields = ("office", "day", "kind", "note")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A day entered by mistake is removed; it is a setting, not part of any case's record.
        return self.has_change_permission(request, obj)
