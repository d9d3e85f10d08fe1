"""ecancel sweep_notary_files: remove received materials and identity evidence left behind by rolled-back
transactions."""

from __future__ import annotations

from ecancel.core.commands import OrphanSweepCommand
from ecancel.notary.services.files import evidence_files_sweep, material_files_sweep


class Command(OrphanSweepCommand):
    help = "Delete received-material and identity-evidence files no row refers to, older than --minutes (default 60)."
    sweeps = ((material_files_sweep, "received-material"), (evidence_files_sweep, "identity-evidence"))
