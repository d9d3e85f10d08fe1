"""Reads of notary cases, always scoped to one office."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from ecancel.accounts.models import Organisation
from ecancel.buyers.models import HandoffToken
from ecancel.documents.models import StoredDocument
from ecancel.documents.selectors import document_list
from ecancel.exchange.messages import CertificateIssued
from ecancel.exchange.selectors import outbox_latest
from ecancel.exchange.transitions import OutboxStatus
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.transitions import CaseStatus


def case_list(*, office: Organisation, query: str = "", status: str | None = None) -> QuerySet[NotaryCase]:
    """The office's received cases, newest first, with what a list row shows already loaded."""
    cases = (
        NotaryCase.objects.for_office_organisation(office.pk)
        .select_related("seller", "office__organisation")
        .prefetch_related(
            Prefetch(
                "parties",
                queryset=CaseParty.objects.filter(role=PartyRole.BUYER).select_related("journey").order_by("position"),
                to_attr="buyers",
            )
        )
        .order_by("-received_at", "-sequence")
    )
    query = query.strip()
    if query:
        cases = cases.filter(Q(case_number__icontains=query) | Q(contract_no__icontains=query))
    if status:
        cases = cases.filter(status=status)
    return cases


def case_summary_rows(cases: QuerySet[NotaryCase]) -> list[dict[str, Any]]:
    """The cases as the API's list rows (applicants by position): two queries whatever the number of cases."""
    found = list(
        cases.values(
            "id",
            "case_number",
            "status",
            "application_ref",
            "application_version",
            "seller_name",
            "contract_no",
            "received_at",
        )
    )
    applicants: dict[UUID, list[str]] = {row["id"]: [] for row in found}
    buyers = CaseParty.objects.filter(case_id__in=list(applicants), role=PartyRole.BUYER)
    for case_id, name in buyers.order_by("case_id", "position").values_list("case_id", "name"):
        applicants[case_id].append(name)
    return [
        {
            "id": row["id"],
            "case_number": row["case_number"],
            "status": row["status"],
            "status_label": str(CaseStatus(row["status"]).label),
            "application_ref": row["application_ref"],
            "application_version": row["application_version"],
            "seller": row["seller_name"],
            "contract_no": row["contract_no"],
            "applicants": applicants[row["id"]],
            "received_at": row["received_at"],
        }
        for row in found
    ]


def case_get(*, office: Organisation, case_id: UUID | str) -> NotaryCase:
    """One case of the office with its parties and materials; DoesNotExist for anyone else's."""
    return (
        NotaryCase.objects.for_office_organisation(office.pk)
        .select_related("seller", "office__organisation", "previous_case")
        .prefetch_related(Prefetch("parties", queryset=CaseParty.objects.select_related("journey")), "materials")
        .get(pk=case_id)
    )


def case_handoff(case: NotaryCase) -> HandoffToken | None:
    """The case's most recent QR token (only its hash is stored, so the link itself is not shown)."""
    return case.handoff_tokens.order_by("-created_at").first()


def _case_documents(case: NotaryCase) -> QuerySet[StoredDocument]:
    return document_list(case.subject_ref).filter(issuer_id=case.office.organisation_id)


def case_documents(case: NotaryCase) -> list[StoredDocument]:
    """The documents the office issued for the case, in the order they were issued."""
    return list(_case_documents(case).select_related("purge").order_by("created_at"))


def case_document_get(case: NotaryCase, document_id: UUID | str) -> StoredDocument:
    """One of the case's documents; 404 for any other, even an existing one of another case."""
    document = _case_documents(case).filter(pk=document_id).first()
    if document is None:
        raise Http404
    return document


CertificateState = Literal["sending", "accepted", "refused", "failed"]


@dataclass(frozen=True)
class CertificateDelivery:
    """Where a certified case's certificate stands with the filing side (its latest certificate.issued)."""

    state: CertificateState
    message_id: UUID | None
    note: str  # the filing side's explanation of a refusal, or the relay's last error

    @property
    def resendable(self) -> bool:
        """Refused there or given up by the relay: nothing changed on the filing side, so it may be sent again."""
        return self.state in ("refused", "failed")


def certificate_delivery(case: NotaryCase) -> CertificateDelivery | None:
    """None until the case is certified."""
    if case.status != CaseStatus.CERTIFIED:
        return None
    sent = outbox_latest(
        sender=case.office.organisation, application_ref=case.application_ref, message_type=CertificateIssued.TYPE
    )
    if sent is None or sent.status == OutboxStatus.PENDING:
        return CertificateDelivery("sending", sent.pk if sent else None, "")
    if sent.status == OutboxStatus.FAILED:
        return CertificateDelivery("failed", sent.pk, sent.last_error)
    if sent.remote_status == "rejected":
        return CertificateDelivery("refused", sent.pk, sent.remote_note)
    return CertificateDelivery("accepted", sent.pk, "")
