"""ecancel sweep_certificates: remove received certificate files left behind by rolled-back receipts."""

from __future__ import annotations

from ecancel.cancellation.services.files import certificate_files_sweep
from ecancel.core.commands import OrphanSweepCommand


class Command(OrphanSweepCommand):
    help = "Delete received certificate files no certificate row refers to, older than --minutes (default 60)."
    sweeps = ((certificate_files_sweep, "certificate"),)
