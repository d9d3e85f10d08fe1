"""The exchange in Django admin, for system admins: read-only, plus sending failed messages again.

Peers are changed with ``ecancel exchange_peer`` (secrets never pass through a web form).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ecancel.audit.admin import SystemAdminOnly
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange.models import InboxMessage, OutboxMessage, Peer
from ecancel.exchange.services import outbox_requeue
from ecancel.exchange.transitions import OutboxStatus


class ReadOnly(SystemAdminOnly):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnly):
    list_display = ("created_at", "message_type", "sender", "recipient", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "message_type")
    search_fields = ("id", "stream")
    exclude = ("raw",)
    readonly_fields = (
        "id",
        "message_type",
        "sender",
        "recipient",
        "stream",
        "body_sha256",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_error",
        "delivered_at",
        "remote_status",
        "remote_note",
        "created_at",
    )
    actions = ["requeue"]

    @admin.action(description=_("重新发送所选的发送失败消息"))
    def requeue(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        if not self.has_view_permission(request):
            return
        ctx = RequestContext.of(request, via="admin")
        actor = request.user if request.user.is_authenticated else None
        count = 0
        for row in queryset.filter(status=OutboxStatus.FAILED):
            try:
                outbox_requeue(message_id=row.pk, actor=actor, ctx=ctx)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            count += 1
        self.message_user(request, _("已重新排队 %(count)d 条消息") % {"count": count}, messages.SUCCESS)


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnly):
    list_display = ("created_at", "message_type", "sender", "recipient", "status")
    list_filter = ("status", "message_type")
    search_fields = ("id", "stream")
    exclude = ("raw",)
    readonly_fields = (
        "id",
        "message_type",
        "sender",
        "recipient",
        "stream",
        "raw_sha256",
        "signed_at",
        "status",
        "reason",
        "reason_en",
        "created_at",
    )


@admin.register(Peer)
class PeerAdmin(ReadOnly):
    list_display = ("organisation", "transport", "endpoint_url", "signing", "active")
    exclude = ("hmac_secret_sealed",)
    readonly_fields = (
        "organisation",
        "transport",
        "endpoint_url",
        "signing",
        "public_key",
        "document_signing_pins",
        "active",
    )
