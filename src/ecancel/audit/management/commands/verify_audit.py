from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ecancel.audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; name the first altered or missing row."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(f"审计日志校验失败 / audit chain broken: {report.problem}")
        self.stdout.write(f"OK: {report.rows} rows, chain intact / 审计日志完整，共 {report.rows} 条")
