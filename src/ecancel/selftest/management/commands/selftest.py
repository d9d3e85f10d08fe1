"""``ecancel selftest [--url URL] [--out DIR] [--office OFFICE]``: one whole case on the running system.

Run it on a host of the deployment (it needs the deployment's settings to prepare the self-test's seller,
contract and one-run notary account); everything after that goes over HTTP to ``--url``. The JSON summary goes
to stdout; exit status 0 only if every step held.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from ecancel.accounts.models import OrganisationKind
from ecancel.core.commands import LocalisedCommand
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange.routing import hosted_kinds
from ecancel.selftest.drive import Pace, SelfTest
from ecancel.selftest.provision import office_find, provision, retire


class Command(LocalisedCommand):
    help = (
        "Drive one complete case (push, QR, a mainland and a passport buyer, approval, certificate, filing "
        "cancelled) through the running system's API and pages; print a JSON summary; exit 0 only if all held."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running system (default: %(default)s)")
        parser.add_argument("--out", type=Path, default=Path("selftest-out"), help="where the certificate is written")
        parser.add_argument("--office", help="notary office code, name or short name (needed if there are several)")
        parser.add_argument("--timeout", type=float, default=300.0, help="longest wait for one step, in seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        if not {OrganisationKind.DEVELOPER, OrganisationKind.NOTARY_OFFICE} <= hosted_kinds():
            raise CommandError(_("自检需要在同时承载网签备案与公证处两侧的部署上运行（ECANCEL_HOSTED_SIDES）"))
        # Each request is in the summary's steps; the client library's own line per request is noise here.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        ctx = RequestContext.system(via="selftest")
        try:
            office = office_find(options.get("office"))
            provisioned = provision(office=office, now=timezone.now(), ctx=ctx)
        except DomainError as refused:
            raise CommandError(str(refused.message)) from None
        try:
            summary = SelfTest(
                url=options["url"],
                credentials=provisioned.credentials(),
                out=options["out"],
                pace=Pace(limit_seconds=options["timeout"]),
            ).run()
        finally:
            retire(provisioned, ctx=ctx)
        self.stdout.write(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
        if not summary.ok:
            failed = next(step for step in summary.steps if not step.ok)
            raise CommandError(_("自检未通过：%(step)s：%(detail)s") % {"step": failed.name, "detail": failed.detail})
        self.stderr.write(
            _("自检通过：公证书 %(number)s 已写入 %(file)s")
            % {
                "number": summary.certificate_no,
                "file": summary.certificate_file,
            }
        )
