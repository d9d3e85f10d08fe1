"""``ecancel verify_pdf FILE``: the signature report of a PDF; exit 0 only when it is valid."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ecancel.documents.verification import NotAPdf, PdfVerification, verify_pdf

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def _yes(value: bool) -> str:
    return "是 / yes" if value else "否 / no"


def _when(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z") if value else "—"


def report_lines(report: PdfVerification) -> list[str]:
    lines = [f"SHA-256: {report.sha256}", f"大小 / Size: {report.size} bytes"]
    for number, sig in enumerate(report.signatures, start=1):
        lines += [
            "",
            f"签名 {number} / Signature {number}: {sig.field_name}",
            f"  签署机构 / Signer: {sig.signer_organisation or sig.signer_name or '—'}"
            + (f" ({sig.signer_code})" if sig.signer_code else ""),
            f"  证书签发者 / Issuer: {sig.issuer_name or '—'}",
            f"  签署时间 / Signing time (claimed): {_when(sig.signing_time)}",
            f"  时间戳 / Timestamp: {_when(sig.timestamp_time)}"
            + (f" — {sig.timestamp_authority}" if sig.timestamp_authority else ""),
            f"  签署后未被改动 / Unchanged since signing: {_yes(sig.intact and not sig.modified_after)}",
            f"  证书可信 / Chains to a trusted root: {_yes(sig.trusted)}",
            f"  覆盖整个文件 / Covers the whole file: {_yes(sig.covers_whole_document)}",
            f"  级别 / Level: {'PAdES ' + sig.level if sig.level else '—'}",
        ]
        lines += [f"  ! {problem}" for problem in sig.problems]
    for ts in report.document_timestamps:
        lines += ["", f"文档时间戳 / Document timestamp: {_when(ts.time)} — {ts.authority} — {_yes(ts.valid)}"]
        lines += [f"  ! {problem}" for problem in ts.problems]
    lines.append("")
    if report.valid:
        lines.append("结论 / Result: 有效 / VALID")
    else:
        lines.append("结论 / Result: 无效 / NOT VALID")
        lines += [f"  - {problem}" for problem in report.problems]
    return lines


class Command(BaseCommand):
    help = "验证 PDF 的电子签章 / Verify the signatures of a PDF (exit 0 valid, 1 not valid, 2 unreadable)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            message = f"无法读取文件 / cannot read {path}: {exc.strerror}"
            raise CommandError(message, returncode=EXIT_UNREADABLE) from exc
        try:
            report = verify_pdf(data)
        except NotAPdf as exc:
            raise CommandError(f"{path}: {exc.message}", returncode=EXIT_UNREADABLE) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"文件 / File: {path}")
            for line in report_lines(report):
                self.stdout.write(line)
        if not report.valid:
            raise CommandError("文件验证未通过 / the document is not valid", returncode=EXIT_INVALID)
