"""Look at the outbox and send failed messages again once the cause is fixed.

ecancel exchange_outbox                 # pending and failed messages
ecancel exchange_outbox --requeue ID    # a failed message goes back to pending
ecancel exchange_outbox --relay         # deliver what is due now, without waiting for beat
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.core.commands import LocalisedCommand
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange.models import OutboxMessage
from ecancel.exchange.services import outbox_requeue, relay_due
from ecancel.exchange.transitions import OutboxStatus


class Command(LocalisedCommand):
    help = "Inspect the outbox; requeue failed messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requeue", type=UUID, action="append", default=[], help="failed message id")
        parser.add_argument("--relay", action="store_true", help="relay due messages now")

    def handle(self, *args: Any, **options: Any) -> None:
        for message_id in options["requeue"]:
            try:
                outbox_requeue(message_id=message_id, actor=None, ctx=RequestContext.system("command"))
            except OutboxMessage.DoesNotExist:
                raise CommandError(_("没有该消息：%(id)s") % {"id": message_id}) from None
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(_("已重新排队：%(id)s") % {"id": message_id})
        if options["relay"]:
            self.stdout.write(_("已投递 %(count)s 条消息") % {"count": relay_due(limit=500)})
        rows = OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).order_by("created_at")
        for row in rows:
            self.stdout.write(
                f"{row.pk}  {row.message_type}  {row.get_status_display()}  "
                + _("已尝试 %(attempts)s 次，下次 %(next)s")
                % {"attempts": row.attempts, "next": f"{timezone.localtime(row.next_attempt_at):%Y-%m-%d %H:%M:%S}"}
                + f"  {row.last_error[:120]}"
            )
