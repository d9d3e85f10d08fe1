"""``ecancel verify_manifest FILE [--signature FILE.p7s]``: check a buyer's sealed manifest offline.

Exit 0 when the signature is valid, intact, trusted and the office's; otherwise exit 1 with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecancel.buyers.manifest import manifest_verify


class Command(BaseCommand):
    help = "Check a buyer's evidence manifest against its detached CMS signature (offline)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the manifest (canonical JSON)")
        parser.add_argument("--signature", type=Path, help="the detached signature (default: FILE.p7s)")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest: Path = options["file"]
        signature: Path = options["signature"] or manifest.with_name(manifest.name + ".p7s")
        try:
            content, signed = manifest.read_bytes(), signature.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read: {exc}", returncode=2) from exc
        result = manifest_verify(content, signed)
        if not result.valid:
            raise CommandError(f"INVALID: {result.reason}", returncode=1)
        self.stdout.write(f"VALID: signed by {result.signer}")
