"""受理: a case opened by intake gets the office's three documents, its QR code and case.accepted.

Run after the intake commits (a task queued on commit), never inside it: the documents are rendered and signed
outside any transaction, then one short transaction stores them, moves the case 受理中 → 待买受人认证, issues the
QR code and answers the seller. The locked step does nothing if the case has moved on — accepted by another run,
or revoked or superseded meanwhile — so running it twice, or by the sweep after a process died, gives one set of
documents and one case.accepted.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from ecancel.audit.services import record_event
from ecancel.buyers.services import handoff_issue
from ecancel.core.context import RequestContext
from ecancel.documents.services import PreparedDocument, document_store
from ecancel.exchange.messages import CaseAccepted
from ecancel.notary.documents import case_documents_prepare
from ecancel.notary.models import NotaryCase
from ecancel.notary.services.common import each_logged, tell_seller
from ecancel.notary.transitions import CaseStatus, case_transition

# A case still 受理中 this long after intake lost its queued task (a worker died): the sweep finishes it.
ACCEPTANCE_GRACE = timedelta(minutes=2)


def case_accept(*, case_id: UUID | str, ctx: RequestContext) -> bool:
    """Sign the case's documents, then store them and answer case.accepted; False if there was nothing to do."""
    case = NotaryCase.objects.select_related("office__organisation", "previous_case").filter(pk=case_id).first()
    if case is None or case.status != CaseStatus.PREPARING:
        return False
    prepared = case_documents_prepare(case)
    return _accept_prepared(case_id=case.pk, prepared=prepared, ctx=ctx)


@transaction.atomic
def _accept_prepared(*, case_id: UUID, prepared: list[PreparedDocument], ctx: RequestContext) -> bool:
    case = NotaryCase.objects.select_for_update().get(pk=case_id)
    if case.status != CaseStatus.PREPARING:
        # Another run accepted it first, or the seller revoked or re-pushed meanwhile: the signed files are
        # dropped unstored.
        return False
    documents = [document_store(document, actor=None, ctx=ctx) for document in prepared]
    case.status = case_transition(case, "accept")
    case.save(update_fields=["status", "updated_at"])
    handoff = handoff_issue(case=case, actor=None, ctx=ctx)
    tell_seller(
        case,
        CaseAccepted,
        handoff_url=handoff.url,
        handoff_expires_at=handoff.token.expires_at,
        accepted_at=case.received_at,
    )
    record_event(
        "notary.case.accepted",
        organisation=case.office.organisation,
        obj=case,
        data={"case_number": case.case_number, "documents": {d.kind: d.sha256 for d in documents}},
        ctx=ctx,
    )
    return True


def cases_accept_pending(*, older_than: timedelta = ACCEPTANCE_GRACE, ctx: RequestContext) -> int:
    """Accept every case left 受理中 for longer than ``older_than``; how many were accepted. One that fails is
    logged and left for the next sweep."""
    due = NotaryCase.objects.filter(status=CaseStatus.PREPARING, received_at__lte=timezone.now() - older_than)
    ids = due.order_by("received_at").values_list("pk", flat=True)
    return each_logged(ids, lambda case_id: case_accept(case_id=case_id, ctx=ctx), "accepting case")
