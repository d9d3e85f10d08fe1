"""Jobs of the notary side: accepting an opened case after its intake commits, certifying an approved one, and
periodic upkeep (orphaned files, the retention purge)."""

from celery import shared_task
from django.utils import timezone

from ecancel.core.context import RequestContext
from ecancel.notary.services.acceptance import case_accept, cases_accept_pending
from ecancel.notary.services.approval import case_certify, cases_certify_pending
from ecancel.notary.services.files import evidence_files_sweep, material_files_sweep
from ecancel.notary.services.retention import purge_run


@shared_task(name="ecancel.notary.accept_case", ignore_result=True)
def accept_case(case_id: str) -> bool:
    """Queued on the commit of an intake: sign the case's documents and answer case.accepted."""
    return case_accept(case_id=case_id, ctx=RequestContext.system("notary_accept"))


@shared_task(name="ecancel.notary.accept_pending", ignore_result=True)
def accept_pending_cases() -> int:
    """Beat's sweep: cases an intake opened whose queued acceptance never ran (its process died)."""
    return cases_accept_pending(ctx=RequestContext.system("notary_accept_sweep"))


@shared_task(name="ecancel.notary.certify_case", ignore_result=True)
def certify_case(case_id: str) -> bool:
    """Queued on the commit of an approval: sign the certificate, archive the case, send certificate.issued."""
    return case_certify(case_id=case_id, ctx=RequestContext.system("notary_certify"))


@shared_task(name="ecancel.notary.certify_pending", ignore_result=True)
def certify_pending_cases() -> int:
    """Beat's sweep: approved cases whose queued certification never ran (its process died)."""
    return cases_certify_pending(ctx=RequestContext.system("notary_certify_sweep"))


@shared_task(name="ecancel.notary.sweep_files")
def sweep_received_files() -> int:
    """Remove files orphaned by a rolled-back transaction: an intake's materials (the sender delivers again) and
    identity evidence whose check, upload or archive row never committed."""
    ctx = RequestContext.system("sweep_notary_files")
    return len(material_files_sweep(ctx=ctx)) + len(evidence_files_sweep(ctx=ctx))


@shared_task(name="ecancel.notary.purge_expired")
def purge_expired() -> int:
    """Beat's nightly run: delete closed cases' files past their retention period, with a signed record."""
    result = purge_run(now=timezone.now(), ctx=RequestContext.system("retention_purge"))
    return len(result.records) + len(result.resumed)
