"""``ecancel seed_demo``: fictitious demo data and one login per role; demo mode only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext_lazy as _

from ecancel.core.commands import LocalisedCommand
from ecancel.core.errors import Joined
from ecancel.demo.seed import SeedReport, seed_demo

# What the seeding made, named in the command's language.
COUNT_LABELS = {
    "organisations": _("机构"),
    "developer companies": _("开发企业"),
    "notary offices": _("公证处"),
    "projects": _("楼盘"),
    "buildings": _("楼栋"),
    "units": _("房屋"),
    "filed contracts": _("已备案合同"),
    "draft applications with an agent": _("带代理人的注销申请草稿"),
    "staff users": _("工作人员账号"),
}


class Command(LocalisedCommand):
    help = "Create the demo organisations, registry and staff logins (idempotent; refused outside demo mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--logins-file", type=Path, help="write the demo logins to this file (owner-only) instead of printing them"
        )

    def handle(self, *args: Any, logins_file: Path | None = None, **options: Any) -> None:
        # No default accounts outside demo mode: production must never get logins printed on a console.
        if settings.PRODUCTION or not settings.ECANCEL_DEMO:
            raise CommandError(str(_("演示数据只能在演示模式下导入（ECANCEL_DEMO=true，且不是生产环境）")))
        report = seed_demo()
        if report.changed:
            counts = sorted(report.created.items())
            made = Joined(
                _("%(label)s %(count)s") % {"label": COUNT_LABELS.get(kind, kind), "count": count}
                for kind, count in counts
            )
            self.stdout.write(self.style.SUCCESS(_("演示数据已导入：%(made)s") % {"made": made}))
        else:
            self.stdout.write(str(_("演示数据已存在，未作任何更改")))
        logins = login_table(report)
        if logins_file is None:
            self.stdout.write("")
            self.stdout.write(_("登录：%(url)s") % {"url": f"{settings.ECANCEL_PUBLIC_URL}/login/"})
            self.stdout.write(logins)
            return
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.touch(mode=0o600, exist_ok=True)
        logins_file.write_text(logins + "\n", encoding="utf-8")


def login_table(report: SeedReport) -> str:
    """One line per demo login: user name, password, role, organisation."""
    lines = [str(_("演示账号（仅演示环境）："))]
    width = max(len(login.username) for login in report.logins)
    for login in report.logins:
        password = login.password or str(_("（密码已被修改）"))
        lines.append(f"  {login.username:<{width}}  {password:<19}  {login.role}  {login.organisation}")
    return "\n".join(lines)
