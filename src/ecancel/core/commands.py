"""Management commands speak one language: the deployment's (``LANGUAGE_CODE``), or ``ECANCEL_LANGUAGE`` if set.

Their machine-readable output (``--json``, raw tokens, PEM) is the same in every language.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from ecancel.core.context import RequestContext
from ecancel.core.storage import SWEEP_LOOKBACK

# A sweep of files left by rolled-back transactions (``core.storage.orphans_sweep`` behind it): the names removed.
Sweep = Callable[..., list[str]]


class LocalisedCommand(BaseCommand):
    """A command whose messages follow ``ECANCEL_LANGUAGE`` (``en``, ``zh-hant``...) when it is set."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        language = os.environ.get("ECANCEL_LANGUAGE", "").strip()
        if not language:
            return super().execute(*args, **options)
        with translation.override(language):
            return super().execute(*args, **options)


class OrphanSweepCommand(BaseCommand):
    """Runs hourly sweeps by hand (after beat was stopped, say): ``--minutes`` old at least, ``--days`` looked back.

    ``sweeps`` pairs each sweep with what its files are, for the summary line.
    """

    sweeps: tuple[tuple[Sweep, str], ...] = ()

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
        ctx = RequestContext.system(type(self).__module__.rsplit(".", 1)[-1])
        for sweep, what in self.sweeps:
            removed = sweep(older_than=older_than, lookback=lookback, ctx=ctx)
            for name in removed:
                self.stdout.write(f"removed {name}")
            self.stdout.write(f"{len(removed)} orphaned {what} files removed")
