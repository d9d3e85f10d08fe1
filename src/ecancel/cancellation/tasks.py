"""Periodic upkeep of the filing side's received files."""

from celery import shared_task

from ecancel.cancellation.services.files import certificate_files_sweep
from ecancel.core.context import RequestContext


@shared_task(name="ecancel.cancellation.sweep_files")
def sweep_certificate_files() -> int:
    """Remove certificate files of receipts whose transaction rolled back (the inbox applies the message again)."""
    return len(certificate_files_sweep(ctx=RequestContext.system("sweep_certificates")))
