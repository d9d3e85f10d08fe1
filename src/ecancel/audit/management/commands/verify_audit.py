from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext_lazy as _

from ecancel.audit.checkpoints import CheckpointInvalid, checkpoints_read
from ecancel.audit.services import audit_chain_verify
from ecancel.core.commands import LocalisedCommand


class Command(LocalisedCommand):
    help = "Verify the audit log's hash chain against the signed checkpoints; name the first altered or missing row."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoints = checkpoints_read()
        except CheckpointInvalid as exc:
            raise CommandError(_("审计检查点校验失败：%(problem)s") % {"problem": exc}) from exc
        report = audit_chain_verify(checkpoints=checkpoints)
        if not report.ok:
            raise CommandError(_("审计日志校验失败：%(problem)s") % {"problem": report.problem})
        parts = [_("OK：审计日志完整，共 %(rows)s 条") % {"rows": report.rows}]
        if checkpoints:
            parts.append(
                _("%(count)s 个检查点相符，最新检查点 %(rows)s 条（%(label)s）")
                % {"count": len(checkpoints), "rows": checkpoints[-1].rows, "label": checkpoints[-1].label}
            )
        else:
            parts.append(str(_("尚无检查点")))
        if report.unchained:
            parts.append(_("另有 %(count)s 条待入链") % {"count": report.unchained})
        self.stdout.write(str(_("，")).join(parts))
