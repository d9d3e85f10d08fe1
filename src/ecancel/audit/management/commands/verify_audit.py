from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ecancel.audit.checkpoints import CheckpointInvalid, checkpoints_read
from ecancel.audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain against the signed checkpoints; name the first altered or missing row."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoints = checkpoints_read()
        except CheckpointInvalid as exc:
            raise CommandError(f"审计检查点校验失败 / audit checkpoints broken: {exc}") from exc
        report = audit_chain_verify(checkpoints=checkpoints)
        if not report.ok:
            raise CommandError(f"审计日志校验失败 / audit chain broken: {report.problem}")
        latest = f"，最新检查点 {checkpoints[-1].rows} 条（{checkpoints[-1].label}）" if checkpoints else "，尚无检查点"
        waiting = f"，另有 {report.unchained} 条待入链" if report.unchained else ""
        self.stdout.write(
            f"OK: {report.rows} rows, chain intact, {len(checkpoints)} checkpoint(s) match / "
            f"审计日志完整，共 {report.rows} 条{latest}{waiting}"
        )
