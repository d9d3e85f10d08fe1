"""ecancel sweep_documents: remove stored document files left behind by rolled-back transactions."""

from __future__ import annotations

from ecancel.core.commands import OrphanSweepCommand
from ecancel.documents.services import document_files_sweep


class Command(OrphanSweepCommand):
    help = "Delete document files no stored document refers to, older than --minutes (default 60)."
    sweeps = ((document_files_sweep, "document"),)
