"""Periodic upkeep of stored documents."""

from celery import shared_task

from ecancel.documents.services import document_files_sweep


@shared_task(name="ecancel.documents.sweep_files")
def sweep_document_files() -> int:
    """Remove files orphaned by a rolled-back caller after ``document_issue`` wrote them."""
    return len(document_files_sweep())
