"""ecancel sweep_notary_files: remove received materials and identity evidence left behind by rolled-back
transactions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecancel.core.context import RequestContext
from ecancel.core.storage import SWEEP_LOOKBACK
from ecancel.notary.services.files import evidence_files_sweep, material_files_sweep


class Command(BaseCommand):
    help = "Delete received-material and identity-evidence files no row refers to, older than --minutes (default 60)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=int, default=60)
        parser.add_argument(
            "--days",
            type=int,
            default=SWEEP_LOOKBACK.days,
            help="how many days of files before the cut-off to look at (default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than, lookback = dt.timedelta(minutes=options["minutes"]), dt.timedelta(days=options["days"])
        ctx = RequestContext.system("sweep_notary_files")
        for sweep, what in (
            (material_files_sweep, "received-material"),
            (evidence_files_sweep, "identity-evidence"),
        ):
            removed = sweep(older_than=older_than, lookback=lookback, ctx=ctx)
            for name in removed:
                self.stdout.write(f"removed {name}")
            self.stdout.write(f"{len(removed)} orphaned {what} files removed")
