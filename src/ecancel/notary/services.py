"""State changes of notary cases: intake (收案), revoke, buyers' submissions.

Every function here runs inside one transaction; messages to the filing side go through the
exchange outbox in that same transaction, so a change and its message commit together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import filetype
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.audit.services import record_event
from ecancel.buyers.models import InvalidationReason
from ecancel.buyers.services import handoff_issue, handoff_revoke
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, ValidationFailed
from ecancel.exchange.messages import (
    BuyersSubmitted,
    BuyerSubmitted,
    CaseAccepted,
    CaseRefused,
    CaseRevoked,
    DocumentRef,
    MaterialsPushed,
    MaterialsRepushed,
    Message,
    RevokeRefused,
    SubmittedBuyer,
)
from ecancel.exchange.services import outbox_put
from ecancel.identity.id_numbers import IdType
from ecancel.notary.documents import case_documents_issue
from ecancel.notary.models import (
    MATERIALS_FOLDER,
    CaseNumberCounter,
    CaseParty,
    IntakeRefusal,
    MaterialKind,
    NotaryCase,
    PartyRole,
    ReceivedMaterial,
)
from ecancel.notary.transitions import CaseStatus, case_transition

if TYPE_CHECKING:
    from ecancel.accounts.models import User

SIGNED_KINDS = frozenset({MaterialKind.APPLICATION_FORM, MaterialKind.TERMINATION_AGREEMENT})
ALLOWED_TYPES = {
    MaterialKind.APPLICATION_FORM: {"application/pdf"},
    MaterialKind.TERMINATION_AGREEMENT: {"application/pdf"},
    MaterialKind.POWER_OF_ATTORNEY: {"application/pdf", "image/jpeg", "image/png"},
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


class MaterialsInvalid(DomainError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            zh="收到的材料未通过核验，公证处未收案：" + "；".join(problems) + "。请重新生成材料后再推送。",
            en="The materials failed verification; no case was opened. Generate the materials again and push.",
            code="materials_invalid",
            http_status=422,
        )


def format_case_number(prefix: str, year: int, sequence: int) -> str:
    return f"({year}){prefix}第{sequence:04d}号"


def case_number_allocate(*, office: NotaryOffice, at: datetime) -> tuple[int, int, str]:
    """The office's next number for the year of ``at`` (local time), taken under the counter's row lock."""
    year = timezone.localtime(at).year
    counter, _created = CaseNumberCounter.objects.select_for_update().get_or_create(office=office, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return year, counter.last, format_case_number(office.case_prefix, year, counter.last)


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
        checked.append(CheckedMaterial(ref=ref, content=content, content_type=guessed, signer=signer))
    if problems:
        raise MaterialsInvalid(problems)
    return checked


def _office_of(intake: Intake) -> NotaryOffice:
    office = NotaryOffice.objects.select_related("organisation").filter(organisation=intake.recipient).first()
    if office is None:
        raise DomainError(
            zh=f"「{intake.recipient.name}」未登记为公证处，无法收案",
            en="The recipient is not registered as a notary office",
            code="not_a_notary_office",
        )
    return office


def _addressing_problem(intake: Intake) -> DomainError | None:
    """A push meant for another office, or sent in another company's name, is refused back to the sender."""
    body = intake.body
    if body.notary_office_id != intake.recipient.pk:
        return DomainError(
            zh="材料中所选的公证处与收件公证处不一致，未收案；请核对所选公证处后重新推送",
            en="The materials name another notary office than the recipient; no case was opened",
            code="wrong_notary_office",
        )
    if body.seller.organisation_id != intake.sender.pk:
        return DomainError(
            zh="材料中的出卖人与发送机构不一致，未收案；请以出卖人本企业账号重新推送",
            en="The seller named in the materials is not the sender; no case was opened",
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
        zh="该申请标识属于其他出卖人的注销申请，公证处未收案；请核对后以本企业的申请重新推送",
        en="The application reference belongs to another seller's application; no case was opened",
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
def case_intake(*, intake: Intake, ctx: RequestContext) -> NotaryCase | IntakeRefusal | None:
    """收案: verify the push and open a case, or record why not and tell the seller (case.refused).

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
            zh=(
                f"已收到该申请的第 {latest.application_version} 版（案件 {latest.case_number}），"
                f"忽略较早的第 {body.version} 版"
            ),
            en=f"Version {latest.application_version} of this application was already received",
            code="stale_version",
        )
    problem = _addressing_problem(intake)
    if problem is not None:
        return intake_refuse(intake=intake, office=office, error=problem, ctx=ctx)
    try:
        checked = materials_check(intake)
    except MaterialsInvalid as refusal:
        return intake_refuse(intake=intake, office=office, error=refusal, ctx=ctx)
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
    _refusal_send(refusal=refusal, sender=office.organisation)
    return refusal


def _refusal_send(*, refusal: IntakeRefusal, sender: Organisation) -> None:
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
        message_type=CaseRefused.TYPE,
        body=CaseRefused(
            application_ref=application_ref,
            version=version,
            code="materials_invalid",
            reason=reason,
            refused_at=refused_at,
            refused_by=sender.name,
        ).model_dump(mode="json"),
    )


def case_open(
    *,
    intake: Intake,
    office: NotaryOffice,
    materials: list[CheckedMaterial],
    previous: NotaryCase | None,
    ctx: RequestContext,
) -> NotaryCase:
    """A verified push becomes a case: its number, parties and stored materials, then documents, QR and answer."""
    body = intake.body
    now = timezone.now()
    year, sequence, number = case_number_allocate(office=office, at=now)
    contract, seller = body.contract, body.seller
    case = NotaryCase.objects.create(
        office=office,
        case_number=number,
        year=year,
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
    stored = _store_materials(case=case, materials=materials, received_at=now)
    try:
        _announce(case=case, intake=intake, stored=stored, contents=[m.content for m in materials], ctx=ctx)
    except BaseException:
        _delete_files(stored)
        raise
    return case


def _announce(
    *, case: NotaryCase, intake: Intake, stored: list[ReceivedMaterial], contents: list[bytes], ctx: RequestContext
) -> None:
    """Audit the opening, issue the office's three documents and the QR token, answer case.accepted."""
    body, office = intake.body, case.office
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
    case_documents_issue(case=case, materials=list(zip(stored, contents, strict=True)), actor=None, ctx=ctx)
    handoff = handoff_issue(case=case, actor=None, ctx=ctx)
    _tell_seller(
        case,
        CaseAccepted,
        handoff_url=handoff.url,
        handoff_expires_at=handoff.token.expires_at,
        accepted_at=case.received_at,
    )


def _store_materials(
    *, case: NotaryCase, materials: list[CheckedMaterial], received_at: datetime
) -> list[ReceivedMaterial]:
    """Write the files under server-chosen names; if anything fails, leave no file behind."""
    stored: list[ReceivedMaterial] = []
    try:
        for item in materials:
            material = ReceivedMaterial(
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


def _submitted_buyers(case: NotaryCase) -> list[CaseParty]:
    return list(case.parties.filter(role=PartyRole.BUYER, submitted_at__isnull=False).order_by("position"))


@transaction.atomic
def case_revoke(*, case_id: UUID, actor: User | None, ctx: RequestContext) -> NotaryCase:
    """The seller withdrew: close the case, kill its QR link, confirm with case.revoked.

    Refused once any buyer has submitted: their evidence is part of a notarial record now.
    """
    case = NotaryCase.objects.select_related("office__organisation", "seller").select_for_update().get(pk=case_id)
    submitted = _submitted_buyers(case)
    if submitted:
        names = "、".join(p.name for p in submitted)
        raise InvalidTransition(
            f"买受人{names}已提交认证材料，公证处不能撤销该申请；如需更正，请联系公证处办理不予办理后重新申请",
            f"{len(submitted)} buyer(s) already submitted; the notary office cannot revoke this application",
            code="buyer_submitted",
        )
    new_status = case_transition(case, "revoke")
    now = timezone.now()
    case.status, case.closed_at, case.closed_reason = new_status, now, "开发企业撤销申请"
    case.save(update_fields=["status", "closed_at", "closed_reason", "updated_at"])
    handoff_revoke(case=case, reason=InvalidationReason.REVOKED, actor=actor, ctx=ctx)
    record_event("notary.case.revoked", actor=actor, organisation=case.office.organisation, obj=case, ctx=ctx)
    _send_revoked(case=case)
    return case


@dataclass(frozen=True)
class RevokeRequest:
    message_id: UUID
    sender: Organisation
    recipient: Organisation
    application_ref: UUID
    version: int
    requested_by: str
    reason: str


@transaction.atomic
def revoke_request_handle(*, request: RevokeRequest, ctx: RequestContext) -> NotaryCase | None:
    """Answer a seller's revoke: case.revoked when the case could be closed, revoke.refused with the reason if not."""
    case = (
        NotaryCase.objects.filter(
            application_ref=request.application_ref,
            application_version=request.version,
            seller=request.sender,
            office__organisation=request.recipient,
        )
        .select_related("office__organisation")
        .first()
    )
    if case is None:
        _revoke_without_case(request=request, ctx=ctx)
        return None
    if case.status == CaseStatus.REVOKED:
        _send_revoked(case=case)
        return case
    record_event(
        "notary.case.revoke_requested",
        organisation=case.office.organisation,
        obj=case,
        data={"by": request.requested_by, "reason": request.reason},
        ctx=ctx,
    )
    try:
        return case_revoke(case_id=case.pk, actor=None, ctx=ctx)
    except DomainError as refusal:
        _refuse_revoke(request=request, reason=refusal.zh, ctx=ctx, case=case, code=refusal.code)
        return case


def _refuse_revoke(
    *, request: RevokeRequest, reason: str, ctx: RequestContext, case: NotaryCase | None = None, code: str = ""
) -> None:
    """Tell the seller why the revoke cannot happen (revoke.refused); the case stays as it was."""
    record_event(
        "notary.case.revoke_refused",
        organisation=request.recipient,
        obj=case,
        data={
            "application": str(request.application_ref),
            "version": request.version,
            "code": code or "case_not_found",
            "reason": reason,
        },
        ctx=ctx,
        result="denied",
    )
    outbox_put(
        sender=request.recipient,
        recipient=request.sender,
        message_type=RevokeRefused.TYPE,
        body=RevokeRefused(
            application_ref=request.application_ref,
            version=request.version,
            case_ref=case.pk if case is not None else None,
            reason=reason,
            refused_at=timezone.now(),
        ).model_dump(mode="json"),
    )


def _send_revoked(*, case: NotaryCase) -> None:
    """Confirm the revoke; sent again, unchanged, for a case already closed by an earlier request."""
    _tell_seller(case, CaseRevoked, revoked_at=case.closed_at or timezone.now())


def _tell_seller(case: NotaryCase, message: type[Message], **fields: object) -> None:
    """A message about ``case`` to the seller who pushed it, naming the application version and the case."""
    body = message.model_validate(
        {
            "application_ref": case.application_ref,
            "version": case.application_version,
            "case_ref": case.pk,
            "case_no": case.case_number,
            **fields,
        }
    )
    outbox_put(
        sender=case.office.organisation,
        recipient=case.seller,
        message_type=message.TYPE,
        body=body.model_dump(mode="json"),
    )


def _revoke_without_case(*, request: RevokeRequest, ctx: RequestContext) -> None:
    refused = IntakeRefusal.objects.filter(
        application_ref=request.application_ref,
        application_version=request.version,
        seller=request.sender,
        office__organisation=request.recipient,
    ).first()
    if refused is None:
        _refuse_revoke(
            request=request,
            reason=f"公证处未收到该申请第 {request.version} 版的材料，无可撤销的案件；请联系公证处核实",
            ctx=ctx,
        )
        return
    # The push was refused, so nothing is open: repeat the refusal, which returns the application to editing.
    record_event(
        "notary.intake.revoke_answered",
        organisation=request.recipient,
        obj=refused,
        data={"by": request.requested_by},
        ctx=ctx,
    )
    _refusal_send(refusal=refused, sender=request.recipient)


@transaction.atomic
def case_party_record_submission(
    *,
    party_id: UUID,
    verification: Literal["face", "document_video"],
    actor: User | None,
    ctx: RequestContext,
) -> CaseParty:
    """A buyer finished on their phone; once every buyer has, the case moves to review."""
    case_id = CaseParty.objects.filter(pk=party_id, role=PartyRole.BUYER).values_list("case_id", flat=True).get()
    # The case row is the lock every change of the case takes (revoke too), so a revoke and a submission
    # racing each other are decided one after the other; the party is read again under that lock.
    case = NotaryCase.objects.select_related("office__organisation", "seller").select_for_update().get(pk=case_id)
    party = CaseParty.objects.get(pk=party_id)
    if case.status != CaseStatus.AWAITING_BUYERS:
        raise InvalidTransition(
            f"案件状态为「{case.get_status_display()}」，不再接受买受人提交",
            f"The case is '{case.status}' and no longer accepts submissions",
        )
    if party.submitted_at is not None:
        raise InvalidTransition(
            f"{party.name}已提交，不能重复提交", "This buyer already submitted", code="already_submitted"
        )
    party.submitted_at, party.verification = timezone.now(), verification
    party.save(update_fields=["submitted_at", "verification", "updated_at"])
    record_event(
        "notary.party.submitted",
        actor=actor,
        organisation=case.office.organisation,
        obj=party,
        data={"case": str(case.pk), "verification": verification},
        ctx=ctx,
    )
    submitted = SubmittedBuyer(
        position=party.position, name=party.name, verification=verification, submitted_at=party.submitted_at
    )
    _tell_seller(case, BuyerSubmitted, buyer=submitted)
    if case.parties.filter(role=PartyRole.BUYER, submitted_at__isnull=True).exists():
        return party
    case.status = case_transition(case, "start_review")
    case.save(update_fields=["status", "updated_at"])
    record_event("notary.case.review_started", organisation=case.office.organisation, obj=case, ctx=ctx)
    _tell_seller(
        case,
        BuyersSubmitted,
        buyers=[
            SubmittedBuyer.model_validate(
                {
                    "position": p.position,
                    "name": p.name,
                    "verification": p.verification,
                    "submitted_at": p.submitted_at,
                }
            )
            for p in _submitted_buyers(case)
        ],
        completed_at=party.submitted_at,
    )
    return party


def material_files_sweep(*, older_than: dt.timedelta = dt.timedelta(hours=1), ctx: RequestContext) -> list[str]:
    """Delete received files no material row refers to, older than ``older_than``.

    Intake writes a file before its row and removes it when its own steps fail; when the inbox's
    transaction rolls back afterwards (the sender will deliver again), the row goes but the file stays.
    """
    cutoff = timezone.now() - older_than
    referenced = set(ReceivedMaterial.objects.values_list("content", flat=True))
    removed = [
        name
        for name in _stored_names(MATERIALS_FOLDER)
        if name not in referenced and default_storage.get_modified_time(name) <= cutoff
    ]
    for name in removed:
        default_storage.delete(name)
    if removed:
        record_event("notary.materials.swept", data={"count": len(removed), "names": removed[:200]}, ctx=ctx)
    return removed


def _stored_names(folder: str) -> list[str]:
    if not default_storage.exists(folder):
        return []
    directories, files = default_storage.listdir(folder)
    return [f"{folder}/{f}" for f in files] + [n for d in directories for n in _stored_names(f"{folder}/{d}")]
