"""The messages the filing side and the notary side send each other, and their bodies.

Every body names the filing side's application (``application_ref``, a UUID, and its
``version``): the relay delivers the messages of one application in order, and receivers find
their row by it. Bodies are pydantic models that refuse unknown fields; to extend one, add an
optional field with a default and upgrade the receiving side first.

Files travel as attachments of the envelope (``name -> bytes``); a body refers to each one with
a :class:`DocumentRef` whose ``sha256`` must match the attachment, so the signature covers both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecancel.accounts.models import OrganisationKind

FILING_KINDS = frozenset({OrganisationKind.DEVELOPER.value, OrganisationKind.FILING_AUTHORITY.value})
NOTARY_KINDS = frozenset({OrganisationKind.NOTARY_OFFICE.value})

ATTACHMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Part(BaseModel):
    """A piece of a body: strict about unknown fields, immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)


AttachmentKind = Literal[
    "application_form",
    "termination_agreement",
    "power_of_attorney",
    # The seller's own papers, appended to the certificate by the notary office.
    "business_licence",
    "legal_representative_id_front",
    "legal_representative_id_back",
    "certificate",
]


class DocumentRef(Part):
    """One file carried as an attachment: what it is and its SHA-256."""

    kind: AttachmentKind
    title: str = Field(min_length=1, max_length=100)
    attachment: str = Field(pattern=ATTACHMENT_NAME.pattern)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Seller(Part):
    organisation_id: UUID
    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(min_length=1, max_length=18)
    legal_representative: str = Field(min_length=1, max_length=100)
    address: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=40)


class ContractSummary(Part):
    contract_no: str = Field(min_length=1, max_length=40)
    filing_no: str = Field(min_length=1, max_length=40)
    project_name: str = Field(min_length=1, max_length=200)
    building: str = Field(min_length=1, max_length=50)
    room_no: str = Field(min_length=1, max_length=20)
    location: str = Field(min_length=1, max_length=300)
    floor_area: Decimal = Field(gt=0, max_digits=8, decimal_places=2)
    usage: str = Field(default="住宅", max_length=20)
    total_price: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    signed_on: date
    filed_on: date


class Person(Part):
    name: str = Field(min_length=1, max_length=100)
    id_type: str = Field(min_length=1, max_length=32)
    id_number: str = Field(min_length=1, max_length=32)
    phone: str = Field(default="", max_length=20)


class Applicant(Person):
    """A buyer on the contract (买受人); ``position`` is their order on the contract."""

    position: int = Field(ge=1)
    region: str = Field(default="中国", max_length=50)
    share: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=300)


class Agent(Person):
    """The agent (代理人) and the positions of the applicants they act for."""

    acts_for: list[int] = Field(min_length=1)
    power_of_attorney: str = Field(pattern=ATTACHMENT_NAME.pattern)


class Reason(Part):
    """Why the home is returned (退房原因): a code from the list, its label, free text for 其他."""

    code: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=100)
    text: str = Field(default="", max_length=1000)


class Change(Part):
    """One corrected item of a re-push: which field, how it reads before and after."""

    field: str = Field(min_length=1, max_length=100)
    label: str = Field(min_length=1, max_length=100)
    before: str = Field(default="", max_length=500)
    after: str = Field(default="", max_length=500)


class Message(Part):
    """Base of every body: which application, which version of it."""

    TYPE: ClassVar[str] = ""
    LABEL: ClassVar[Promise | str] = ""
    SENDER_KINDS: ClassVar[frozenset[str]] = frozenset()
    RECIPIENT_KINDS: ClassVar[frozenset[str]] = frozenset()
    REQUIRED_DOCUMENTS: ClassVar[frozenset[str]] = frozenset()

    application_ref: UUID
    version: int = Field(ge=1)

    def document_refs(self) -> list[DocumentRef]:
        """The files this body refers to; each must be an attachment with the same SHA-256."""
        return []


class _FilingToNotary(Message):
    SENDER_KINDS: ClassVar[frozenset[str]] = FILING_KINDS
    RECIPIENT_KINDS: ClassVar[frozenset[str]] = NOTARY_KINDS


class _NotaryToFiling(Message):
    SENDER_KINDS: ClassVar[frozenset[str]] = NOTARY_KINDS
    RECIPIENT_KINDS: ClassVar[frozenset[str]] = FILING_KINDS


class MaterialsPushed(_FilingToNotary):
    """Step 4: the operator pushed the materials; the notary office opens a case (收案)."""

    TYPE: ClassVar[str] = "materials.pushed"
    LABEL: ClassVar[Promise | str] = _("推送注销电子材料")
    REQUIRED_DOCUMENTS: ClassVar[frozenset[str]] = frozenset({"application_form", "termination_agreement"})

    application_no: str = Field(min_length=1, max_length=40)
    # The termination agreement's own number (协议编号); the notary's application form cites it.
    agreement_no: str = Field(default="", max_length=64)
    seller: Seller
    contract: ContractSummary
    applicants: list[Applicant] = Field(min_length=1)
    agent: Agent | None = None
    reason: Reason
    notary_office_id: UUID
    documents: list[DocumentRef] = Field(min_length=1)
    pushed_at: datetime
    pushed_by: str = Field(min_length=1, max_length=100)

    @field_validator("applicants")
    @classmethod
    def _positions_unique(cls, value: list[Applicant]) -> list[Applicant]:
        positions = [a.position for a in value]
        if len(set(positions)) != len(positions):
            raise ValueError("applicant positions must be unique")
        return value

    @model_validator(mode="after")
    def _agent_fits(self) -> MaterialsPushed:
        if self.agent is None:
            return self
        positions = {a.position for a in self.applicants}
        if not set(self.agent.acts_for) <= positions:
            raise ValueError("the agent acts for positions that are not applicants")
        if not any(
            d.kind == "power_of_attorney" and d.attachment == self.agent.power_of_attorney for d in self.documents
        ):
            raise ValueError("the agent's power of attorney must be listed in documents")
        return self

    def document_refs(self) -> list[DocumentRef]:
        return list(self.documents)


class CaseAccepted(_NotaryToFiling):
    """Step 5: the notary office opened the case; the QR code links to ``handoff_url``."""

    TYPE: ClassVar[str] = "case.accepted"
    LABEL: ClassVar[Promise | str] = _("公证处已受理")

    case_ref: UUID
    case_no: str = Field(min_length=1, max_length=60)
    handoff_url: str = Field(pattern=r"^https?://\S+$", max_length=500)
    handoff_expires_at: datetime
    accepted_at: datetime


class RevokeRequested(_FilingToNotary):
    """Step 6: the operator revokes the pushed version to correct it (撤销申请)."""

    TYPE: ClassVar[str] = "revoke.requested"
    LABEL: ClassVar[Promise | str] = _("申请撤销")

    case_ref: UUID | None = None
    reason: str = Field(default="", max_length=500)
    requested_at: datetime
    requested_by: str = Field(min_length=1, max_length=100)


class CaseRevoked(_NotaryToFiling):
    """The notary office closed the case of the revoked version and invalidated its QR code."""

    TYPE: ClassVar[str] = "case.revoked"
    LABEL: ClassVar[Promise | str] = _("公证处已撤销案件")

    case_ref: UUID
    case_no: str = Field(min_length=1, max_length=60)
    revoked_at: datetime


class RevokeRefused(_NotaryToFiling):
    """The notary office could not revoke (e.g. a buyer has already submitted); says why."""

    TYPE: ClassVar[str] = "revoke.refused"
    LABEL: ClassVar[Promise | str] = _("撤销未获同意")

    case_ref: UUID | None = None
    reason: str = Field(min_length=1, max_length=500)
    refused_at: datetime


class MaterialsRepushed(MaterialsPushed):
    """Step 6 again: the corrected materials as a new version, with what changed since the last."""

    TYPE: ClassVar[str] = "materials.repushed"
    LABEL: ClassVar[Promise | str] = _("更正后重新推送")

    previous_version: int = Field(ge=1)
    # Empty when nothing was corrected, e.g. a re-push only to get a fresh QR code after the old one expired.
    changes: list[Change] = Field(default_factory=list)


class RefusalReason(models.TextChoices):
    """Why a notary declines a reviewed case (不予办理); both sides show it and the city's figures count it."""

    IDENTITY_MISMATCH = "identity_mismatch", _("身份核验不一致")
    DOCUMENT_INVALID = "document_invalid", _("身份证件无效或已过期")
    NOT_VOLUNTARY = "not_voluntary", _("非当事人真实意思表示")
    MATERIALS_INCOMPLETE = "materials_incomplete", _("材料不齐全或不真实")
    CONTRACT_DISPUTE = "contract_dispute", _("合同存在争议")
    OTHER = "other", _("其他原因")


class CaseRefused(_NotaryToFiling):
    """The notary office declines the case (不予办理); the operator may correct and push again."""

    TYPE: ClassVar[str] = "case.refused"
    LABEL: ClassVar[Promise | str] = _("不予办理")

    case_ref: UUID | None = None
    case_no: str = Field(default="", max_length=60)
    # "refused" for 不予办理 after review; "materials_invalid" when a received PDF failed verification at intake.
    code: Literal["refused", "materials_invalid"] = "refused"
    # Set when a notary refused after review (code "refused"); ``reason`` then carries the notary's own words.
    reason_code: RefusalReason | None = None
    reason: str = Field(min_length=1, max_length=1000)
    refused_at: datetime
    refused_by: str = Field(default="", max_length=100)


class StartedBuyer(Part):
    position: int = Field(ge=1)
    started_at: datetime


class BuyerStarted(_NotaryToFiling):
    """A buyer gave the consents on the phone and began checking their identity (进行中)."""

    TYPE: ClassVar[str] = "buyer.started"
    LABEL: ClassVar[Promise | str] = _("买受人已开始认证")

    case_ref: UUID
    case_no: str = Field(min_length=1, max_length=60)
    buyer: StartedBuyer


class SubmittedBuyer(Part):
    position: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=100)
    verification: Literal["face", "document_video"]
    submitted_at: datetime


class BuyerSubmitted(_NotaryToFiling):
    """One buyer submitted: from now on the operator can no longer revoke (撤销) the application."""

    TYPE: ClassVar[str] = "buyer.submitted"
    LABEL: ClassVar[Promise | str] = _("买受人已提交")

    case_ref: UUID
    case_no: str = Field(min_length=1, max_length=60)
    buyer: SubmittedBuyer


class BuyersSubmitted(_NotaryToFiling):
    """Step 7 done: every buyer verified their identity and submitted; the notary now reviews."""

    TYPE: ClassVar[str] = "buyers.submitted"
    LABEL: ClassVar[Promise | str] = _("买受人已全部提交")

    case_ref: UUID
    case_no: str = Field(min_length=1, max_length=60)
    buyers: list[SubmittedBuyer] = Field(min_length=1)
    completed_at: datetime


class CertificateIssued(_NotaryToFiling):
    """Step 8: the notarial certificate (公证书), signed; the filing can now be cancelled."""

    TYPE: ClassVar[str] = "certificate.issued"
    LABEL: ClassVar[Promise | str] = _("公证书已出具")
    REQUIRED_DOCUMENTS: ClassVar[frozenset[str]] = frozenset({"certificate"})

    case_ref: UUID
    case_no: str = Field(min_length=1, max_length=60)
    certificate_no: str = Field(min_length=1, max_length=60)
    issued_at: datetime
    notary_name: str = Field(min_length=1, max_length=100)
    verification_code: str = Field(min_length=4, max_length=64)
    verification_url: str = Field(default="", pattern=r"^(https?://\S+)?$", max_length=500)
    certificate: DocumentRef

    def document_refs(self) -> list[DocumentRef]:
        return [self.certificate]


# Checkpoints belong to no application: they travel in one stream of their own, in order.
AUDIT_CHECKPOINT_STREAM = UUID("6b1d5c1e-3f0a-4c2e-9a51-2f7d0c8e4a10")


class AuditCheckpoint(Message):
    """The sender's signed audit checkpoint, kept by the receiver so a rewritten or cut log shows."""

    TYPE: ClassVar[str] = "audit.checkpoint"
    LABEL: ClassVar[Promise | str] = _("审计日志检查点")
    SENDER_KINDS: ClassVar[frozenset[str]] = FILING_KINDS | NOTARY_KINDS
    RECIPIENT_KINDS: ClassVar[frozenset[str]] = FILING_KINDS | NOTARY_KINDS

    application_ref: UUID = AUDIT_CHECKPOINT_STREAM
    version: int = Field(default=1, ge=1)
    rows: int = Field(ge=0)
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: datetime
    public_key: str = Field(min_length=1, max_length=64)
    signature: str = Field(min_length=1, max_length=128)
    timestamp_token: str = Field(default="", max_length=20000)


# Key announcements belong to no application either: one stream of their own.
EXCHANGE_KEY_STREAM = UUID("3f9c2a57-8d41-4e0b-b6a2-71c5e09d4f38")


class ExchangeKeyAnnounced(Message):
    """The sender's new Ed25519 key, in an envelope signed by the key it replaces (which the receiver trusts); the
    receiver accepts either key until ``overlap_until``, then only the new one. ``proof`` is the new key's signature
    over the announcement, so nobody announces a key they do not hold."""

    TYPE: ClassVar[str] = "exchange.key.announced"
    LABEL: ClassVar[Promise | str] = _("交换签名密钥更换")
    SENDER_KINDS: ClassVar[frozenset[str]] = FILING_KINDS | NOTARY_KINDS
    RECIPIENT_KINDS: ClassVar[frozenset[str]] = FILING_KINDS | NOTARY_KINDS

    application_ref: UUID = EXCHANGE_KEY_STREAM
    version: int = Field(default=1, ge=1)
    public_key: str = Field(min_length=1, max_length=64)
    previous_public_key: str = Field(min_length=1, max_length=64)
    overlap_until: datetime
    proof: str = Field(min_length=1, max_length=128)


MESSAGE_TYPES: dict[str, type[Message]] = {
    model.TYPE: model
    for model in (
        MaterialsPushed,
        CaseAccepted,
        RevokeRequested,
        CaseRevoked,
        RevokeRefused,
        MaterialsRepushed,
        CaseRefused,
        BuyerStarted,
        BuyerSubmitted,
        BuyersSubmitted,
        CertificateIssued,
        AuditCheckpoint,
        ExchangeKeyAnnounced,
    )
}


@dataclass(frozen=True)
class BodyProblem:
    """Why a body does not fit its type, in words a person can act on."""

    zh: str
    en: str


def message_model(message_type: str) -> type[Message] | None:
    return MESSAGE_TYPES.get(message_type)


def check_body(
    message_type: str,
    body: Mapping[str, Any],
    attachment_hashes: Mapping[str, str],
) -> Message | BodyProblem:
    """The parsed body, or what is wrong with it (schema, documents not matching attachments)."""
    model = message_model(message_type)
    if model is None:
        return BodyProblem(f"未知的消息类型「{message_type}」", f"unknown message type {message_type!r}")
    try:
        parsed = model.model_validate(dict(body))
    except ValidationError as exc:
        problems = _problems(exc)
        return BodyProblem(
            f"消息内容不符合「{model.LABEL}」的格式：{problems}", f"body does not fit {model.TYPE}: {problems}"
        )
    referenced = {ref.attachment: ref for ref in parsed.document_refs()}
    missing_kinds = sorted(model.REQUIRED_DOCUMENTS - {ref.kind for ref in referenced.values()})
    if missing_kinds:
        return BodyProblem(
            f"缺少必需的材料：{'、'.join(missing_kinds)}", f"missing documents: {', '.join(missing_kinds)}"
        )
    for name, ref in referenced.items():
        if attachment_hashes.get(name) != ref.sha256:
            return BodyProblem(
                f"材料「{ref.title}」与附件 {name} 不一致或缺失", f"document {name!r} missing or its SHA-256 differs"
            )
    unreferenced = sorted(set(attachment_hashes) - set(referenced))
    if unreferenced:
        return BodyProblem(f"附件未在消息中列明：{'、'.join(unreferenced)}", f"unlisted attachments: {unreferenced}")
    return parsed


def _problems(exc: ValidationError) -> str:
    """Where and what, never the offending value: refusals are audited and sent back, and values carry ID numbers."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
