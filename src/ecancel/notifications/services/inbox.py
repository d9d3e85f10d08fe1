"""The recipient reads their in-app notifications on 我的."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import NotFound
from ecancel.notifications.models import Notification
from ecancel.notifications.services.common import audit_label


@transaction.atomic
def notification_mark_read(
    *, recipient: str, notification_id: UUID, now: datetime, ctx: RequestContext
) -> Notification:
    """Mark one of the recipient's notifications read; another recipient's is not found. Reading again keeps
    the first time."""
    notification = Notification.objects.select_for_update().filter(pk=notification_id, recipient=recipient).first()
    if notification is None:
        raise NotFound(_("未找到该消息"))
    if notification.read_at is None:
        notification.read_at = now
        notification.save(update_fields=["read_at", "updated_at"])
        record_event(
            "notifications.notification.read",
            obj=notification,
            ctx=ctx,
            actor_label=audit_label(recipient),
            data={"event": notification.event, "topic": notification.topic},
        )
    return notification
