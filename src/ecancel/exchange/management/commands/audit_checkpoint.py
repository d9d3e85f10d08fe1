"""Write a signed, timestamped checkpoint of the audit chain now and send it to the peers (beat does it hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ecancel.exchange.checkpoints import audit_checkpoint_publish


class Command(BaseCommand):
    help = "写入审计日志检查点并发送给对接方 / write an audit checkpoint and send it to the peers"

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint, sent = audit_checkpoint_publish()
        self.stdout.write(
            f"检查点：{checkpoint.rows} 条，末条摘要 {checkpoint.head_hash[:16]}…，已发送给 {sent} 个对接方 / "
            f"checkpoint of {checkpoint.rows} rows written, sent to {sent} peer(s)"
        )
