"""``ecancel verify_pdf FILE``: the signature report of a PDF; exit 0 only when it is valid."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.core.commands import LocalisedCommand
from ecancel.documents.verification import NotAPdf, PdfVerification, verify_pdf

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def _yes(value: bool) -> str:
    return str(_("是") if value else _("否"))


def _when(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z") if value else "—"


def report_lines(report: PdfVerification) -> list[str]:
    lines = [f"SHA-256: {report.sha256}", _("大小：%(size)s 字节") % {"size": report.size}]
    for number, sig in enumerate(report.signatures, start=1):
        lines += [
            "",
            _("签名 %(number)s：%(field)s") % {"number": number, "field": sig.field_name},
            "  "
            + _("签署机构：%(signer)s") % {"signer": sig.signer_organisation or sig.signer_name or "—"}
            + (f" ({sig.signer_code})" if sig.signer_code else ""),
            "  " + _("证书签发者：%(issuer)s") % {"issuer": sig.issuer_name or "—"},
            "  " + _("签署时间（声明）：%(time)s") % {"time": _when(sig.signing_time)},
            "  "
            + _("时间戳：%(time)s") % {"time": _when(sig.timestamp_time)}
            + (f" — {sig.timestamp_authority}" if sig.timestamp_authority else ""),
            "  " + _("签署后未被改动：%(answer)s") % {"answer": _yes(sig.intact and not sig.modified_after)},
            "  " + _("证书可信：%(answer)s") % {"answer": _yes(sig.trusted)},
            "  " + _("覆盖整个文件：%(answer)s") % {"answer": _yes(sig.covers_whole_document)},
            "  " + _("级别：%(level)s") % {"level": "PAdES " + sig.level if sig.level else "—"},
        ]
        lines += [f"  ! {problem}" for problem in sig.problems]
    for ts in report.document_timestamps:
        lines += [
            "",
            _("文档时间戳：%(time)s — %(authority)s — %(answer)s")
            % {"time": _when(ts.time), "authority": ts.authority, "answer": _yes(ts.valid)},
        ]
        lines += [f"  ! {problem}" for problem in ts.problems]
    lines.append("")
    if report.valid:
        lines.append(str(_("结论：有效")))
    else:
        lines.append(str(_("结论：无效")))
        lines += [f"  - {problem}" for problem in report.problems]
    return lines


class Command(LocalisedCommand):
    help = "Verify the signatures of a PDF (exit 0 valid, 1 not valid, 2 unreadable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            message = _("无法读取文件 %(path)s：%(reason)s") % {"path": path, "reason": exc.strerror}
            raise CommandError(message, returncode=EXIT_UNREADABLE) from exc
        try:
            report = verify_pdf(data)
        except NotAPdf as exc:
            raise CommandError(f"{path}: {exc.message}", returncode=EXIT_UNREADABLE) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(_("文件：%(path)s") % {"path": path})
            for line in report_lines(report):
                self.stdout.write(line)
        if not report.valid:
            raise CommandError(str(_("文件验证未通过")), returncode=EXIT_INVALID)
