"""ecancel purge: delete closed cases' files past their retention period, with a signed deletion record."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from ecancel.core.commands import LocalisedCommand
from ecancel.core.context import RequestContext
from ecancel.core.errors import Joined
from ecancel.notary.models import DeletionRecord
from ecancel.notary.services.retention import DataClass, deletion_record_verify, purge_plan, purge_run


def _counted(counts: dict[str, int]) -> str:
    if not counts:
        return _("无")
    return str(
        Joined(
            _("%(label)s %(count)s 个") % {"label": DataClass(name).label, "count": count}
            for name, count in sorted(counts.items())
        )
    )


class Command(LocalisedCommand):
    help = (
        "Delete closed cases' face captures, videos, ID photos and documents past their retention period "
        "(ECANCEL_RETAIN_*), each run with a signed deletion record. --dry-run lists, --verify checks the records."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List what is due; delete nothing.")
        parser.add_argument("--verify", action="store_true", help="Check every deletion record's signature.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verify"]:
            self._verify()
        elif options["dry_run"]:
            plan = purge_plan(now=timezone.now())
            pending = DeletionRecord.objects.filter(completed_at__isnull=True).count()
            self.stdout.write(_("试运行，未删除任何文件。到期应删除：%(counts)s") % {"counts": _counted(plan.counts)})
            if pending:
                self.stdout.write(_("另有 %(count)s 条中断的删除记录，正式运行时会先补完") % {"count": pending})
        else:
            result = purge_run(now=timezone.now(), ctx=RequestContext.system("purge_command"))
            for record in result.resumed + result.records:
                self.stdout.write(
                    _("删除记录 %(id)s：已删除 %(counts)s；SHA-256 %(sha256)s")
                    % {"id": record.pk, "counts": _counted(record.counts), "sha256": record.sha256}
                )
            if not result.resumed and not result.records:
                self.stdout.write(_("没有到期应删除的文件"))

    def _verify(self) -> None:
        failed = 0
        records = list(DeletionRecord.objects.order_by("started_at"))
        for record in records:
            problems = deletion_record_verify(record)
            if problems:
                failed += 1
                self.stdout.write(
                    _("删除记录 %(id)s：%(problems)s") % {"id": record.pk, "problems": Joined(problems, clauses=True)}
                )
        if failed:
            raise CommandError(
                _("%(failed)s 条删除记录校验失败（共 %(count)s 条）") % {"failed": failed, "count": len(records)}
            )
        self.stdout.write(_("OK：%(count)s 条删除记录的签名均有效") % {"count": len(records)})
