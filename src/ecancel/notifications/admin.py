"""Notifications in Django admin, for system admins: read-only; sealed contacts and code digests stay hidden."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ecancel.audit.admin import SystemAdminOnly
from ecancel.notifications.models import Delivery, Notification, OneTimeCode, Subscription


class ReadOnly(SystemAdminOnly):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnly):
    list_display = ("created_at", "recipient", "topic", "sms", "wechat", "phone_masked", "language", "active")
    list_filter = ("active", "sms", "wechat")
    search_fields = ("recipient", "topic")
    fields = ("id", "recipient", "topic", "sms", "wechat", "phone_masked", "language", "active", "created_at")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ("created_at", "recipient", "topic", "event", "language", "read_at")
    list_filter = ("event", "language")
    search_fields = ("recipient", "topic", "dedupe_key")
    fields = ("id", "recipient", "topic", "event", "dedupe_key", "language", "title", "body", "created_at", "read_at")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ("created_at", "kind", "event", "address_masked", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "kind", "event")
    search_fields = ("recipient", "topic", "gateway_reference")
    fields = (
        "id",
        "kind",
        "event",
        "recipient",
        "topic",
        "language",
        "address_masked",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_error",
        "expires_at",
        "sent_at",
        "gateway_reference",
        "created_at",
    )
    readonly_fields = fields


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(ReadOnly):
    list_display = ("created_at", "phone_masked", "purpose", "expires_at", "failed_attempts", "closed_reason")
    list_filter = ("purpose", "closed_reason")
    fields = ("id", "phone_masked", "purpose", "expires_at", "failed_attempts", "closed_at", "closed_reason")
    readonly_fields = fields
