"""``ecancel export_trust_roots``: the roots this deployment's signatures chain to, as PEM.

Install them in a PDF reader (Adobe, or NSS for poppler's ``pdfsig``) or give them to another deployment
so that it can check this one's documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.management.base import CommandParser
from django.utils.translation import gettext_lazy as _

from ecancel.core.commands import LocalisedCommand
from ecancel.documents.pki import trust_roots


class Command(LocalisedCommand):
    help = "Export the root certificates this deployment's signatures chain to (PEM)."

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
            self.stderr.write(_("%(count)s 个根证书已写入 %(path)s") % {"count": len(blocks), "path": options["out"]})
        else:
            self.stdout.write(text, ending="")
