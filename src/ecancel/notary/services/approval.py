"""核准出证 (manual 7.3): a 公证员 approves a reviewed case, and the signed 公证书 goes back to the filing side.

Two steps, as acceptance does. The approval is one short transaction: it checks the certificate can be made,
takes the office's next certificate number under the counter's row lock and moves the case 审核中 → 出证中, so a
number is used exactly when an approval commits (no gaps, no duplicates). Then, queued on commit, the certificate
is rendered and signed (PAdES B-LTA) and the case archived outside any transaction; one transaction stores the
certificate and the archive, moves the case to 已出证, sends certificate.issued with the file and tells the
buyers. That step does nothing if the case has moved on, and the sweep finishes a case whose task was lost.

When the filing side refuses the certificate (a pin not yet updated after a key rotation, a filing registry that
could not cancel), nothing changes there; once the cause is fixed the office sends the same signed certificate
again as a new message (``certificate_resend``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import NotaryOffice, Role, User
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, Joined, NotFound, PermissionRefused, ValidationFailed
from ecancel.documents.models import StoredDocument
from ecancel.documents.selectors import document_list
from ecancel.documents.services import (
    PreparedDocument,
    document_prepare,
    document_read,
    document_store,
    verification_url,
)
from ecancel.exchange.messages import CertificateIssued, DocumentRef
from ecancel.notary.documents import CERTIFICATE_KIND, certificate_inputs, certificate_missing
from ecancel.notary.models import SELF_TEST_MARK, CaseArchive, CertificateNumberCounter, NotaryCase
from ecancel.notary.selectors import certificate_delivery
from ecancel.notary.services.archive import BuiltArchive, case_archive_build
from ecancel.notary.services.common import each_logged, next_in_year, tell_buyers, tell_seller
from ecancel.notary.transitions import CaseStatus, case_transition

CERTIFICATE_ATTACHMENT = "certificate.pdf"
# A case approved this long ago and still 出证中 lost its queued task (a worker died): the sweep finishes it.
CERTIFICATION_GRACE = timedelta(minutes=2)


def format_certificate_number(prefix: str, year: int, sequence: int) -> str:
    return f"({year}){prefix}第{sequence:04d}号"


def certificate_number_allocate(*, office: NotaryOffice, at: datetime) -> tuple[int, int, str]:
    """The office's next certificate number for the year of ``at`` (local time), under the counter's row lock."""
    year, sequence = next_in_year(CertificateNumberCounter, office=office, at=at)
    return year, sequence, format_certificate_number(office.certificate_prefix, year, sequence)


def self_test_certificate_number(case: NotaryCase) -> str:
    """A self-test case's certificate number: outside the office's register (which must account for every number it
    gives), marked 自检 and unique as its case number (in the self-test's own series) is."""
    return f"({case.year}){case.office.certificate_prefix}{SELF_TEST_MARK}第{case.sequence:04d}号"


@transaction.atomic
def case_approve(*, case_id: UUID, actor: User, ctx: RequestContext) -> NotaryCase:
    """核准: only a 公证员 of the case's office; the certificate follows once this commits."""
    case = (
        NotaryCase.objects.select_for_update(of=("self",))
        .select_related("office__organisation")
        .filter(pk=case_id)
        .first()
    )
    if case is None or case.office.organisation_id != actor.organisation_id:
        raise NotFound(_("未找到该案件"))
    if not actor.has_role(Role.NOTARY):
        raise PermissionRefused(_("只有公证员可以核准出证，受理员不能"))
    status = case_transition(case, "approve")
    missing = certificate_missing(case)
    if missing:
        raise ValidationFailed(
            _("无法出具公证书，缺少：%(missing)s。可决定不予办理（材料不齐全），开发企业补正后重新推送"),
            params={"missing": Joined(missing)},
        )
    now = timezone.now()
    year: int
    sequence: int | None
    if case.is_self_test:
        year, sequence, number = timezone.localtime(now).year, None, self_test_certificate_number(case)
    else:
        year, sequence, number = certificate_number_allocate(office=case.office, at=now)
    case.status = status
    case.approved_by, case.approved_at = actor, now
    case.certificate_no, case.certificate_year, case.certificate_sequence = number, year, sequence
    case.save(
        update_fields=[
            "status",
            "approved_by",
            "approved_at",
            "certificate_no",
            "certificate_year",
            "certificate_sequence",
            "updated_at",
        ]
    )
    record_event(
        "notary.case.approved",
        actor=actor,
        organisation=case.office.organisation,
        obj=case,
        data={"case_number": case.case_number, "certificate_no": number, "self_test": case.is_self_test},
        ctx=ctx,
    )
    transaction.on_commit(partial(_queue_certification, case.pk), robust=True)
    return case


def _queue_certification(case_id: UUID) -> None:
    from ecancel.notary.tasks import certify_case

    certify_case.delay(str(case_id))


def case_certify(*, case_id: UUID | str, ctx: RequestContext) -> bool:
    """Sign the certificate and build the archive, then store both and send certificate.issued; False if there
    was nothing to do (not 出证中, or another run got there first)."""
    case = NotaryCase.objects.select_related("office__organisation", "approved_by", "seller").filter(pk=case_id).first()
    if case is None or case.status != CaseStatus.CERTIFYING:
        return False
    inputs = certificate_inputs(case, ctx=ctx)
    certificate = document_prepare(
        kind=CERTIFICATE_KIND,
        data=inputs.data,
        issuer=case.office.organisation,
        subject_ref=case.subject_ref,
        images=inputs.images,
        reference_no=case.certificate_no,
    )
    archive = case_archive_build(case, certificate=certificate, archived_at=timezone.now(), ctx=ctx)
    try:
        return _certify_prepared(case_id=case.pk, certificate=certificate, archive=archive, ctx=ctx)
    except BaseException:
        archive.discard()
        raise


@transaction.atomic
def _certify_prepared(
    *, case_id: UUID, certificate: PreparedDocument, archive: BuiltArchive, ctx: RequestContext
) -> bool:
    # Only the case's row: approved_by is a nullable join, and PostgreSQL cannot lock the nullable side of one.
    case = (
        NotaryCase.objects.select_for_update(of=("self",))
        .select_related("office__organisation", "approved_by")
        .get(pk=case_id)
    )
    if case.status != CaseStatus.CERTIFYING:
        archive.discard()
        return False
    stored = document_store(certificate, actor=None, ctx=ctx)
    CaseArchive.objects.create(
        case=case,
        stored_name=archive.stored_name,
        sha256=archive.sha256,
        size=archive.size,
        manifest=archive.manifest,
        manifest_sha256=archive.manifest_sha256,
    )
    case.status = case_transition(case, "certify")
    case.closed_at = timezone.now()
    case.save(update_fields=["status", "closed_at", "updated_at"])
    _send_certificate(case, stored, certificate.pdf)
    tell_buyers(case, "case.certified", ctx=ctx, certificate_no=case.certificate_no)
    record_event(
        "notary.case.certified",
        organisation=case.office.organisation,
        obj=case,
        data={
            "case_number": case.case_number,
            "certificate_no": case.certificate_no,
            "certificate_sha256": stored.sha256,
            "archive_sha256": archive.sha256,
            "archive_manifest_sha256": archive.manifest_sha256,
            "archived_files": len(archive.manifest["files"]),
        },
        ctx=ctx,
    )
    return True


def _send_certificate(case: NotaryCase, stored: StoredDocument, pdf: bytes) -> None:
    tell_seller(
        case,
        CertificateIssued,
        attachments={CERTIFICATE_ATTACHMENT: pdf},
        certificate_no=case.certificate_no,
        issued_at=stored.created_at,
        notary_name=str(case.approved_by),
        verification_code=stored.verification_code,
        verification_url=verification_url(stored.reference_no, stored.verification_code),
        certificate=DocumentRef(
            kind="certificate", title=stored.title, attachment=CERTIFICATE_ATTACHMENT, sha256=stored.sha256
        ),
    )


@transaction.atomic
def certificate_resend(*, case_id: UUID, actor: User, ctx: RequestContext) -> NotaryCase:
    """Send a certified case's certificate again, as a new message, after the filing side refused it or it could
    not be delivered; the same signed file, checked against its recorded hash."""
    case = (
        NotaryCase.objects.select_for_update(of=("self",))
        .select_related("office__organisation", "approved_by")
        .filter(pk=case_id)
        .first()
    )
    if case is None or case.office.organisation_id != actor.organisation_id:
        raise NotFound(_("未找到该案件"))
    if not actor.has_role(Role.NOTARY, Role.NOTARY_ADMIN):
        raise PermissionRefused(_("只有公证员或公证处管理员可以重新发送公证书"))
    if case.status != CaseStatus.CERTIFIED:
        raise InvalidTransition(_("只有已出证的案件可以重新发送公证书"), code="not_certified")
    previous = certificate_delivery(case)
    if previous is None or not previous.resendable:
        raise InvalidTransition(_("公证书正在发送或已被开发企业接收，无需重新发送"), code="certificate_not_refused")
    stored = document_list(case.subject_ref, kind=CERTIFICATE_KIND).filter(issuer=case.office.organisation).first()
    if stored is None:
        raise InvalidTransition(_("找不到本案的公证书文件，请联系系统管理员"), code="certificate_missing")
    _send_certificate(case, stored, document_read(stored, ctx=ctx))
    record_event(
        "notary.certificate.resent",
        actor=actor,
        organisation=case.office.organisation,
        obj=case,
        data={
            "case_number": case.case_number,
            "certificate_no": case.certificate_no,
            "previous_message": str(previous.message_id),
            "previous_outcome": previous.note[:300],
        },
        ctx=ctx,
    )
    return case


def cases_certify_pending(*, older_than: timedelta = CERTIFICATION_GRACE, ctx: RequestContext) -> int:
    """Certify every case left 出证中 for longer than ``older_than``; how many were certified. One that fails is
    logged and left for the next sweep."""
    due = NotaryCase.objects.filter(status=CaseStatus.CERTIFYING, approved_at__lte=timezone.now() - older_than)
    ids = due.order_by("approved_at").values_list("pk", flat=True)
    return each_logged(ids, lambda case_id: case_certify(case_id=case_id, ctx=ctx), "certifying case")
