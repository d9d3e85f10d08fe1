"""收案: check the pushed materials, then open a case (with its number) or refuse the push.

The slow steps stay out of the inbox transaction, which holds the office's case-number lock (on SQLite, the
database's one write lock): the pushed PDFs' signatures are checked before it (``materials_verdict``, the
exchange handler's prepare step), and the office's documents are signed after it commits
(``notary.services.acceptance``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

import filetype
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import SELF_TEST_SELLER_ID, NotaryOffice, Organisation
from ecancel.audit.services import record_event
from ecancel.buyers.models import InvalidationReason
from ecancel.buyers.services import handoff_revoke
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, ValidationFailed
from ecancel.documents.slots import run_in_signing_slot
from ecancel.exchange.messages import CaseRefused, DocumentRef, MaterialsPushed, MaterialsRepushed
from ecancel.exchange.services import outbox_put
from ecancel.identity.id_numbers import IdType
from ecancel.notary.documents import case_documents_check, material_pages
from ecancel.notary.models import (
    SELF_TEST_MARK,
    CaseNumberCounter,
    CaseParty,
    IntakeRefusal,
    MaterialKind,
    NotaryCase,
    NumberSeries,
    PartyRole,
    ReceivedMaterial,
)
from ecancel.notary.services.common import next_in_year
from ecancel.notary.transitions import CaseStatus, case_transition

SIGNED_KINDS = frozenset({MaterialKind.APPLICATION_FORM, MaterialKind.TERMINATION_AGREEMENT})


ALLOWED_TYPES = {
    MaterialKind.APPLICATION_FORM: {"application/pdf"},
    MaterialKind.TERMINATION_AGREEMENT: {"application/pdf"},
    MaterialKind.POWER_OF_ATTORNEY: {"application/pdf", "image/jpeg", "image/png"},
    # Pictures only: the certificate's typesetting places them as images.
    MaterialKind.BUSINESS_LICENCE: {"image/jpeg", "image/png"},
    MaterialKind.LEGAL_REPRESENTATIVE_ID_FRONT: {"image/jpeg", "image/png"},
    MaterialKind.LEGAL_REPRESENTATIVE_ID_BACK: {"image/jpeg", "image/png"},
}


@dataclass(frozen=True)
class Intake:
    """One received push, as the handler hands it over: who sent it and the files by attachment name."""

    message_id: UUID
    sender: Organisation
    recipient: Organisation
    body: MaterialsPushed
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class CheckedMaterial:
    ref: DocumentRef
    content: bytes
    content_type: str
    signer: str
    pages: int | None


class MaterialsInvalid(DomainError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            zh="收到的材料未通过核验，公证处未收案：" + "；".join(problems) + "。请重新生成材料后再推送。",
            en="The materials failed verification; no case was opened. Generate the materials again and push.",
            code="materials_invalid",
            http_status=422,
        )


def format_case_number(prefix: str, year: int, sequence: int, series: str = NumberSeries.REGISTER) -> str:
    mark = SELF_TEST_MARK if series == NumberSeries.SELF_TEST else ""
    return f"({year}){prefix}{mark}第{sequence:04d}号"


def case_number_allocate(
    *, office: NotaryOffice, at: datetime, series: str = NumberSeries.REGISTER
) -> tuple[int, int, str]:
    """The office's next case number in ``series`` for the year of ``at`` (local time), under the counter's row lock.

    ``ecancel selftest``'s cases are numbered in a series of their own (自检第NNNN号): the office's register accounts
    for every number it gives, and an exercise of the deployment is no notarial matter."""
    year, sequence = next_in_year(CaseNumberCounter, office=office, at=at, series=series)
    return year, sequence, format_case_number(office.case_prefix, year, sequence, series)


# What the check of a push's files found: the files, ready to store, or why they were refused.
MaterialsVerdict = list[CheckedMaterial] | MaterialsInvalid


def materials_verdict(intake: Intake) -> MaterialsVerdict:
    """The check of the pushed files, run before the inbox transaction (no lock is held while signatures are
    verified) in one of the host's signing slots, at their lower CPU priority; it touches no row, so a retried
    delivery may run it again."""
    try:
        return run_in_signing_slot(lambda: materials_check(intake))
    except MaterialsInvalid as refusal:
        return refusal


def materials_check(intake: Intake) -> list[CheckedMaterial]:
    """Every pushed file, hash-checked, typed by content and (for the two forms) signed by the seller."""
    from ecancel.documents.verification import NotAPdf, verify_pdf

    problems: list[str] = []
    checked: list[CheckedMaterial] = []
    refs = intake.body.document_refs()
    for ref in refs:
        content = intake.files.get(ref.attachment)
        if content is None:
            problems.append(f"缺少「{ref.title}」文件")
            continue
        if hashlib.sha256(content).hexdigest() != ref.sha256:
            problems.append(f"「{ref.title}」的 SHA-256 与清单不符（文件在传输中被改动）")
            continue
        if ref.kind not in MaterialKind.values:
            problems.append(f"「{ref.title}」不属于注销推送的材料")
            continue
        kind = MaterialKind(ref.kind)
        guessed = filetype.guess_mime(content) or "unknown"
        if guessed not in ALLOWED_TYPES[kind]:
            problems.append(f"「{ref.title}」不是可接受的文件类型（{guessed}）")
            continue
        signer = ""
        if kind in SIGNED_KINDS:
            try:
                report = verify_pdf(content)
            except NotAPdf as unreadable:
                # Still answered as a refusal: left unanswered, the seller's application would wait forever.
                problems.append(f"「{ref.title}」{unreadable.zh}")
                continue
            signers = sorted({s.signer_organisation for s in report.signatures if s.signer_organisation})
            if not report.valid:
                problems.append(
                    f"「{ref.title}」的电子签名无效（{'；'.join(p.zh for p in report.problems) or '未通过验签'}）"
                )
                continue
            if intake.sender.name not in signers:
                problems.append(
                    f"「{ref.title}」不是由{intake.sender.name}签章（签章机构：{'、'.join(signers) or '无'}）"
                )
                continue
            signer = intake.sender.name
        checked.append(
            CheckedMaterial(
                ref=ref,
                content=content,
                content_type=guessed,
                signer=signer,
                pages=material_pages(guessed, content),
            )
        )
    if problems:
        raise MaterialsInvalid(problems)
    return checked


def _office_of(intake: Intake) -> NotaryOffice:
    office = NotaryOffice.objects.select_related("organisation").filter(organisation=intake.recipient).first()
    if office is None:
        raise DomainError(
            text=_("「%(intake_recipient_name)s」未登记为公证处，无法收案"),
            code="not_a_notary_office",
            params={"intake_recipient_name": intake.recipient.name},
        )
    return office


def _addressing_problem(intake: Intake) -> DomainError | None:
    """A push meant for another office, or sent in another company's name, is refused back to the sender."""
    body = intake.body
    if body.notary_office_id != intake.recipient.pk:
        return DomainError(
            text=_("材料中所选的公证处与收件公证处不一致，未收案；请核对所选公证处后重新推送"),
            code="wrong_notary_office",
        )
    if body.seller.organisation_id != intake.sender.pk:
        return DomainError(
            text=_("材料中的出卖人与发送机构不一致，未收案；请以出卖人本企业账号重新推送"),
            code="wrong_seller",
        )
    return None


def _owned_by_another_seller(*, application_ref: UUID, sender: Organisation) -> bool:
    """Whether another seller already pushed an application under this reference (to any office here).

    A reference belongs to the seller whose push first named it: the filing side makes it up (a random
    UUID) and reveals it only in that push, so a later sender naming it is using someone else's.
    """
    return (
        NotaryCase.objects.filter(application_ref=application_ref).exclude(seller=sender).exists()
        or IntakeRefusal.objects.filter(application_ref=application_ref).exclude(seller=sender).exists()
    )


def _refuse_foreign_push(*, intake: Intake, office: NotaryOffice, ctx: RequestContext) -> None:
    """Refuse a push naming another seller's application: audited, answered to the sender, nothing stored.

    No IntakeRefusal row is kept: that would put the sender's name on the owner's reference.
    """
    body = intake.body
    error = DomainError(
        text=_("该申请标识属于其他出卖人的注销申请，公证处未收案；请核对后以本企业的申请重新推送"),
        code="foreign_application",
    )
    record_event(
        "notary.intake.refused",
        organisation=office.organisation,
        data={
            "application": str(body.application_ref),
            "version": body.version,
            "code": error.code,
            "sender": str(intake.sender.pk),
        },
        ctx=ctx,
        result="denied",
    )
    _case_refused_send(
        sender=office.organisation,
        seller=intake.sender,
        application_ref=body.application_ref,
        version=body.version,
        reason=error.zh,
        refused_at=timezone.now(),
    )


@transaction.atomic
def case_intake(*, intake: Intake, checked: MaterialsVerdict, ctx: RequestContext) -> NotaryCase | IntakeRefusal | None:
    """收案: open a case for a verified push (``checked``: ``materials_verdict`` of it, found before this
    transaction), or record why not and tell the seller (case.refused).

    Only the sender's own cases count: a push naming another seller's application is refused (None).
    """
    office = _office_of(intake)
    body = intake.body
    if _owned_by_another_seller(application_ref=body.application_ref, sender=intake.sender):
        _refuse_foreign_push(intake=intake, office=office, ctx=ctx)
        return None
    latest = (
        NotaryCase.objects.select_for_update()
        .filter(application_ref=body.application_ref, seller=intake.sender)
        .order_by("-application_version")
        .first()
    )
    if latest is not None and latest.application_version >= body.version:
        raise DomainError(
            text=_(
                "已收到该申请的第 %(latest_application_version)s 版（案件 %(latest_case_number)s）"
                "，忽略较早的第 %(body_version)s 版"
            ),
            code="stale_version",
            params={
                "latest_application_version": latest.application_version,
                "latest_case_number": latest.case_number,
                "body_version": body.version,
            },
        )
    problem = _addressing_problem(intake)
    if problem is not None:
        return intake_refuse(intake=intake, office=office, error=problem, ctx=ctx)
    if isinstance(checked, MaterialsInvalid):
        return intake_refuse(intake=intake, office=office, error=checked, ctx=ctx)
    # The new case links to the one it replaces only within the same office (another office's case is not
    # theirs to open); an open case elsewhere is still closed, as the seller has moved on from it.
    same_office = latest if latest is not None and latest.office_id == office.pk else None
    try:
        with transaction.atomic():
            if latest is not None and latest.is_open:
                case_supersede(case=latest, ctx=ctx)
            return case_open(intake=intake, office=office, materials=checked, previous=same_office, ctx=ctx)
    except ValidationFailed as unfit:
        # The pushed data does not fit the office's documents (e.g. a field too long): nothing was opened.
        return intake_refuse(intake=intake, office=office, error=MaterialsInvalid([unfit.zh]), ctx=ctx)


def intake_refuse(*, intake: Intake, office: NotaryOffice, error: DomainError, ctx: RequestContext) -> IntakeRefusal:
    body = intake.body
    refusal = IntakeRefusal.objects.create(
        office=office,
        seller=intake.sender,
        application_ref=body.application_ref,
        application_version=body.version,
        source_message_id=intake.message_id,
        contract_no=body.contract.contract_no,
        code=error.code,
        reason=error.zh,
    )
    record_event(
        "notary.intake.refused",
        organisation=office.organisation,
        obj=refusal,
        data={"application": str(body.application_ref), "version": body.version, "code": error.code},
        ctx=ctx,
        result="denied",
    )
    refusal_send(refusal=refusal, sender=office.organisation)
    return refusal


def refusal_send(*, refusal: IntakeRefusal, sender: Organisation) -> None:
    """Tell the seller the push was refused; the same answer serves a revoke of that refused push."""
    _case_refused_send(
        sender=sender,
        seller=refusal.seller,
        application_ref=refusal.application_ref,
        version=refusal.application_version,
        reason=refusal.reason,
        refused_at=refusal.created_at,
    )


def _case_refused_send(
    *,
    sender: Organisation,
    seller: Organisation,
    application_ref: UUID,
    version: int,
    reason: str,
    refused_at: datetime,
) -> None:
    outbox_put(
        sender=sender,
        recipient=seller,
        body=CaseRefused(
            application_ref=application_ref,
            version=version,
            code="materials_invalid",
            reason=reason,
            refused_at=refused_at,
            refused_by=sender.name,
        ),
    )


def case_open(
    *,
    intake: Intake,
    office: NotaryOffice,
    materials: list[CheckedMaterial],
    previous: NotaryCase | None,
    ctx: RequestContext,
) -> NotaryCase:
    """A verified push becomes a case (受理中): its number, parties and stored materials. Its documents, QR code
    and case.accepted follow after commit (``acceptance.case_accept``, queued here, swept if it never ran)."""
    body = intake.body
    now = timezone.now()
    series = NumberSeries.SELF_TEST if intake.sender.pk == SELF_TEST_SELLER_ID else NumberSeries.REGISTER
    year, sequence, number = case_number_allocate(office=office, at=now, series=series)
    contract, seller = body.contract, body.seller
    case = NotaryCase.objects.create(
        office=office,
        case_number=number,
        status=CaseStatus.PREPARING,
        year=year,
        number_series=series,
        sequence=sequence,
        application_ref=body.application_ref,
        application_version=body.version,
        application_no=body.application_no,
        agreement_no=body.agreement_no,
        source_message_id=intake.message_id,
        previous_case=previous,
        seller=intake.sender,
        seller_name=seller.name,
        seller_credit_code=seller.credit_code,
        seller_legal_representative=seller.legal_representative,
        seller_address=seller.address,
        seller_phone=seller.phone,
        contract_no=contract.contract_no,
        filing_no=contract.filing_no,
        project_name=contract.project_name,
        building=contract.building,
        room_no=contract.room_no,
        location=contract.location,
        floor_area=contract.floor_area,
        usage=contract.usage,
        total_price=contract.total_price,
        signed_on=contract.signed_on,
        filed_on=contract.filed_on,
        reason_code=body.reason.code,
        reason_label=body.reason.label,
        reason_text=body.reason.text,
        changes=[c.model_dump(mode="json") for c in body.changes] if isinstance(body, MaterialsRepushed) else [],
        pushed_by=body.pushed_by,
        pushed_at=body.pushed_at,
        received_at=now,
    )
    CaseParty.objects.bulk_create(
        [
            CaseParty(
                case=case,
                role=PartyRole.BUYER,
                position=a.position,
                name=a.name,
                id_type=a.id_type,
                id_number=a.id_number,
                phone=a.phone,
                region=a.region,
                is_mainland=a.id_type == IdType.MAINLAND_ID,
                share=a.share,
                address=a.address,
            )
            for a in body.applicants
        ]
        + (
            [
                CaseParty(
                    case=case,
                    role=PartyRole.AGENT,
                    position=1,
                    name=body.agent.name,
                    id_type=body.agent.id_type,
                    id_number=body.agent.id_number,
                    phone=body.agent.phone,
                    is_mainland=body.agent.id_type == IdType.MAINLAND_ID,
                    acts_for=sorted(body.agent.acts_for),
                )
            ]
            if body.agent is not None
            else []
        )
    )
    case_documents_check(case, [(material_of(case, item, now), item.pages) for item in materials])
    stored = _store_materials(case=case, materials=materials, received_at=now)
    record_event(
        "notary.case.opened",
        organisation=office.organisation,
        obj=case,
        data={
            "case_number": case.case_number,
            "application": str(body.application_ref),
            "version": body.version,
            "materials": {m.attachment_name: m.sha256 for m in stored},
        },
        ctx=ctx,
    )
    transaction.on_commit(partial(_queue_acceptance, case.pk), robust=True)
    return case


def _queue_acceptance(case_id: UUID) -> None:
    from ecancel.notary.tasks import accept_case

    accept_case.delay(str(case_id))


def material_of(case: NotaryCase, item: CheckedMaterial, received_at: datetime) -> ReceivedMaterial:
    """The row a checked file becomes (its file not written yet)."""
    return ReceivedMaterial(
        case=case,
        kind=item.ref.kind,
        attachment_name=item.ref.attachment,
        content_type=item.content_type,
        sha256=item.ref.sha256,
        size=len(item.content),
        signer=item.signer,
        signature_checked=bool(item.signer),
        received_at=received_at,
    )


def _store_materials(
    *, case: NotaryCase, materials: list[CheckedMaterial], received_at: datetime
) -> list[ReceivedMaterial]:
    """Write the files under server-chosen names; if anything fails, leave no file behind."""
    stored: list[ReceivedMaterial] = []
    try:
        for item in materials:
            material = material_of(case, item, received_at)
            material.content.save(item.ref.attachment, ContentFile(item.content), save=False)
            stored.append(material)
            material.save(force_insert=True)
    except BaseException:
        _delete_files(stored)
        raise
    return stored


def _delete_files(materials: list[ReceivedMaterial]) -> None:
    for material in materials:
        material.content.delete(save=False)


def case_supersede(*, case: NotaryCase, ctx: RequestContext) -> NotaryCase:
    """A corrected version arrived while this one was still open: close it and kill its QR link."""
    locked = NotaryCase.objects.select_for_update().get(pk=case.pk)
    locked.status = case_transition(locked, "supersede")
    locked.closed_at = timezone.now()
    locked.closed_reason = "已收到更正后的新版本申请"
    locked.save(update_fields=["status", "closed_at", "closed_reason", "updated_at"])
    handoff_revoke(case=locked, reason=InvalidationReason.SUPERSEDED, actor=None, ctx=ctx)
    record_event("notary.case.superseded", organisation=locked.office.organisation, obj=locked, ctx=ctx)
    return locked
