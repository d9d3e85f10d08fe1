"""Periodic upkeep of received materials."""

from celery import shared_task

from ecancel.core.context import RequestContext
from ecancel.notary.services.files import material_files_sweep


@shared_task(name="ecancel.notary.sweep_files")
def sweep_received_files() -> int:
    """Remove files orphaned by an intake whose inbox transaction rolled back (the sender delivers again)."""
    return len(material_files_sweep(ctx=RequestContext.system("sweep_notary_files")))
