"""Issued documents in Django admin: system admins may look; nobody may add, change or delete one."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ecancel.audit.admin import SystemAdminOnly
from ecancel.documents.models import StoredDocument

DOCUMENT_FIELDS = (
    "kind",
    "title",
    "version",
    "supersedes",
    "issuer",
    "subject_ref",
    "reference_no",
    "template",
    "template_version",
    "sha256",
    "size",
    "page_count",
    "signed",
    "signature_level",
    "created_at",
)


@admin.register(StoredDocument)
class StoredDocumentAdmin(SystemAdminOnly):
    """Read-only: the rows and files are evidence. The verification code is not shown (it proves possession
    of the printed certificate)."""

    list_display = ["title", "reference_no", "version", "issuer", "subject_ref", "signature_level", "created_at"]
    list_filter = ["kind", "signature_level"]
    list_select_related = ["issuer"]
    search_fields = ["reference_no", "subject_ref", "sha256"]
    ordering = ["-created_at"]
    fields = DOCUMENT_FIELDS
    readonly_fields = DOCUMENT_FIELDS

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
