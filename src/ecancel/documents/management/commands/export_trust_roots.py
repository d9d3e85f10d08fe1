"""``ecancel export_trust_roots``: the roots this deployment's signatures chain to, as PEM.

Install them in a PDF reader (Adobe, or NSS for poppler's ``pdfsig``) or give them to another deployment
so that it can check this one's documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.management.base import BaseCommand, CommandParser

from ecancel.documents.pki import trust_roots


class Command(BaseCommand):
    help = "导出本系统签名所依据的根证书（PEM） / Export the root certificates this deployment's signatures chain to"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, help="write to this file instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        blocks = []
        for root in trust_roots():
            certificate = x509.load_der_x509_certificate(root.dump())
            fingerprint = certificate.fingerprint(hashes.SHA256()).hex(":").upper()
            blocks.append(
                f"# {certificate.subject.rfc4514_string()}\n# SHA-256 {fingerprint}\n"
                + certificate.public_bytes(serialization.Encoding.PEM).decode()
            )
        text = "".join(blocks)
        if options["out"]:
            options["out"].write_text(text)
            self.stderr.write(f"{len(blocks)} 个根证书已写入 / root certificate(s) written to {options['out']}")
        else:
            self.stdout.write(text, ending="")
