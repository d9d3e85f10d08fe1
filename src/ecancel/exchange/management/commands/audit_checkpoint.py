"""Write a signed, timestamped checkpoint of the audit chain now and send it to the peers (beat does it hourly)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecancel.core.commands import LocalisedCommand
from ecancel.exchange.checkpoints import audit_checkpoint_publish


class Command(LocalisedCommand):
    help = "Write an audit checkpoint and send it to the peers."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint, sent = audit_checkpoint_publish()
        self.stdout.write(
            _("检查点：%(rows)s 条，末条摘要 %(head)s…，已发送给 %(sent)s 个对接方")
            % {"rows": checkpoint.rows, "head": checkpoint.head_hash[:16], "sent": sent}
        )
