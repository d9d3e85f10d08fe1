"""ecancel sweep_notary_files: remove received-material files left behind by rolled-back intakes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecancel.core.context import RequestContext
from ecancel.core.storage import SWEEP_LOOKBACK
from ecancel.notary.services.files import material_files_sweep


class Command(BaseCommand):
    help = "Delete received-material files no case refers to, older than --minutes (default 60)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=int, default=60)
        parser.add_argument(
            "--days",
            type=int,
            default=SWEEP_LOOKBACK.days,
            help="how many days of files before the cut-off to look at (default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        removed = material_files_sweep(
            older_than=dt.timedelta(minutes=options["minutes"]),
            lookback=dt.timedelta(days=options["days"]),
            ctx=RequestContext.system("sweep_notary_files"),
        )
        for name in removed:
            self.stdout.write(f"removed {name}")
        self.stdout.write(f"{len(removed)} orphaned received-material files removed")
