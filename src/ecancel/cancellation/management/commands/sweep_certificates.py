"""ecancel sweep_certificates: remove received certificate files left behind by rolled-back receipts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecancel.cancellation.services.files import certificate_files_sweep
from ecancel.core.context import RequestContext
from ecancel.core.storage import SWEEP_LOOKBACK


class Command(BaseCommand):
    help = "Delete received certificate files no certificate row refers to, older than --minutes (default 60)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=int, default=60)
        parser.add_argument(
            "--days",
            type=int,
            default=SWEEP_LOOKBACK.days,
            help="how many days of files before the cut-off to look at (default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        removed = certificate_files_sweep(
            older_than=dt.timedelta(minutes=options["minutes"]),
            lookback=dt.timedelta(days=options["days"]),
            ctx=RequestContext.system("sweep_certificates"),
        )
        for name in removed:
            self.stdout.write(f"removed {name}")
        self.stdout.write(f"{len(removed)} orphaned certificate files removed")
