"""``ecancel seed_demo``: fictitious demo data and one login per role; demo mode only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecancel.demo.seed import SeedReport, seed_demo

# What the seeding made, named in each language on its own line (never half Chinese, half English).
COUNT_LABELS = {
    "organisations": "机构",
    "developer companies": "开发企业",
    "notary offices": "公证处",
    "projects": "楼盘",
    "buildings": "楼栋",
    "units": "房屋",
    "filed contracts": "已备案合同",
    "draft applications with an agent": "带代理人的注销申请草稿",
    "staff users": "工作人员账号",
}


class Command(BaseCommand):
    help = "Create the demo organisations, registry and staff logins (idempotent; refused outside demo mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--logins-file", type=Path, help="write the demo logins to this file (owner-only) instead of printing them"
        )

    def handle(self, *args: Any, logins_file: Path | None = None, **options: Any) -> None:
        # No default accounts outside demo mode: production must never get logins printed on a console.
        if settings.PRODUCTION or not settings.ECANCEL_DEMO:
            raise CommandError(
                "演示数据只能在演示模式下导入（ECANCEL_DEMO=true，且不是生产环境）/ "
                "demo data is only seeded in demo mode, never in production"
            )
        report = seed_demo()
        if report.changed:
            counts = sorted(report.created.items())
            made_zh = "，".join(f"{COUNT_LABELS.get(kind, kind)} {count}" for kind, count in counts)
            made_en = ", ".join(f"{count} {kind}" for kind, count in counts)
            self.stdout.write(self.style.SUCCESS(f"演示数据已导入：{made_zh}"))
            self.stdout.write(self.style.SUCCESS(f"demo data seeded: {made_en}"))
        else:
            self.stdout.write("演示数据已存在，未作任何更改 / demo data already present; nothing changed")
        logins = login_table(report)
        if logins_file is None:
            self.stdout.write("")
            self.stdout.write(f"登录 / sign in: {settings.ECANCEL_PUBLIC_URL}/login/")
            self.stdout.write(logins)
            return
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.touch(mode=0o600, exist_ok=True)
        logins_file.write_text(logins + "\n", encoding="utf-8")


def login_table(report: SeedReport) -> str:
    """One line per demo login: user name, password, role, organisation."""
    lines = ["演示账号（仅演示环境）/ demo logins (demo mode only):"]
    width = max(len(login.username) for login in report.logins)
    for login in report.logins:
        password = login.password or "（密码已被修改 / changed since seeding）"
        lines.append(f"  {login.username:<{width}}  {password:<19}  {login.role}  {login.organisation}")
    return "\n".join(lines)
