"""``ecancel seed_demo``: fictitious demo data and one login per role; demo mode only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ecancel.demo.seed import SeedReport, seed_demo


class Command(BaseCommand):
    help = "Create the demo organisations, registry and staff logins (idempotent; refused outside demo mode)."

    def handle(self, *args: Any, **options: Any) -> None:
        # No default accounts outside demo mode: production must never get logins printed on a console.
        if settings.PRODUCTION or not settings.ECANCEL_DEMO:
            raise CommandError(
                "演示数据只能在演示模式下导入（ECANCEL_DEMO=true，且不是生产环境）/ "
                "demo data is only seeded in demo mode, never in production"
            )
        report = seed_demo()
        if report.changed:
            made = "，".join(f"{kind} {count}" for kind, count in sorted(report.created.items()))
            self.stdout.write(self.style.SUCCESS(f"演示数据已导入 / demo data seeded: {made}"))
        else:
            self.stdout.write("演示数据已存在，未作任何更改 / demo data already present; nothing changed")
        self._print_logins(report)

    def _print_logins(self, report: SeedReport) -> None:
        base = settings.ECANCEL_PUBLIC_URL
        self.stdout.write("")
        self.stdout.write(f"登录 / sign in: {base}/    系统管理 / admin: {base}/admin/")
        self.stdout.write("演示账号（仅演示环境）/ demo logins (demo mode only):")
        width = max(len(login.username) for login in report.logins)
        for login in report.logins:
            password = login.password or "（密码已被修改 / changed since seeding）"
            self.stdout.write(f"  {login.username:<{width}}  {password:<19}  {login.role}  {login.organisation}")
