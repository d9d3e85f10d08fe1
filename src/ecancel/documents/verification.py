"""Verification anyone can run: is this PDF signed by whom it says, unchanged since, and trusted here?

A document is valid only when it carries at least one signature and every signature and document
timestamp in it is intact, chains to a root this deployment trusts, has a trusted RFC 3161 time, and
was followed by nothing but further signatures and validation data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from django.utils.translation import gettext_lazy
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.metadata import model as xmp_model
from pyhanko.pdf_utils.metadata import xmp_xml
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError, ValidationInfoReadingError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    PdfSignatureValidationSpec,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    ModificationInfo,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    TimestampSignatureStatus,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy, FreshnessReqType
from pyhanko_certvalidator.registry import SimpleTrustManager

from ecancel.core.errors import Text, ValidationFailed, render_english, render_source
from ecancel.documents.pki.backends import certificate_pin
from ecancel.documents.pki.backends import trust_roots as deployment_trust_roots
from ecancel.documents.pki.revocation import OfflineFetcherBackend

logger = logging.getLogger(__name__)
# pyHanko logs every untrusted or altered signature as a warning with a traceback; those are expected
# outcomes here, reported to the person asking, not faults of this system.
logging.getLogger("pyhanko.sign.validation").setLevel(logging.ERROR)
logging.getLogger("pyhanko.sign.diff_analysis").setLevel(logging.ERROR)

ACCEPTABLE_LATER_CHANGES = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)
# What every PDF writer stamps on each save; any other metadata change after signing counts as a change.
WRITER_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
WRITER_XMP_FIELDS = frozenset(
    {xmp_model.XMP_MODDATE, xmp_model.PDF_PRODUCER, xmp_model.ExpandedName(xmp_model.NS["xmp"], "MetadataDate")}
)


@dataclass(frozen=True)
class Problem:
    """One reason a signature or a document does not verify, rendered in the language it is shown in."""

    text: Text

    @property
    def zh(self) -> str:
        return render_source(self.text)

    @property
    def en(self) -> str:
        return render_english(self.text)

    def __str__(self) -> str:
        return str(self.text)


NO_SIGNATURE = Problem(gettext_lazy("文件中没有数字签名，无法证明其来源和完整性"))
CHANGED = Problem(gettext_lazy("签名后文件内容被改动（签名摘要不符）"))
BAD_SIGNATURE = Problem(gettext_lazy("签名值无效"))
UNTRUSTED = Problem(gettext_lazy("签名证书不是由本系统信任的机构签发"))
EXPIRED = Problem(gettext_lazy("签名证书已过期，且没有可信时间戳证明签署时证书有效"))
NO_TIMESTAMP = Problem(gettext_lazy("签名没有时间戳，签署时间无法证明"))
BAD_TIMESTAMP = Problem(gettext_lazy("签名时间戳无效或不受信任"))
MODIFIED_AFTER = Problem(gettext_lazy("签名后文件被追加修改（不只是增加签名或验证信息）"))
PARTIAL_COVERAGE = Problem(gettext_lazy("签名没有覆盖完整文件"))
MALFORMED_SIGNATURE = Problem(gettext_lazy("签名数据损坏，无法校验"))
TRAILING_DATA = Problem(gettext_lazy("文件末尾附加了不属于 PDF 的数据"))


class NotAPdf(ValidationFailed):
    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "文件不是有效的 PDF，无法验证", "The file is not a readable PDF" + (f" ({detail})" if detail else "")
        )


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    signer_name: str
    signer_organisation: str
    signer_code: str
    signer_certificate_sha256: str
    # The signing key's pin (SHA-256 of the SubjectPublicKeyInfo): what a receiver compares with the sender's.
    signer_key_sha256: str
    issuer_name: str
    signing_time: dt.datetime | None
    timestamp_time: dt.datetime | None
    timestamp_authority: str
    intact: bool
    trusted: bool
    timestamp_trusted: bool
    covers_whole_document: bool
    modified_after: bool
    level: str
    problems: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class TimestampReport:
    """A document timestamp (the archive timestamp of PAdES B-LTA)."""

    field_name: str
    time: dt.datetime | None
    authority: str
    intact: bool
    trusted: bool
    modified_after: bool
    problems: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PdfVerification:
    sha256: str
    size: int
    signatures: tuple[SignatureReport, ...]
    document_timestamps: tuple[TimestampReport, ...] = ()
    document_problems: tuple[Problem, ...] = field(default=())

    @property
    def problems(self) -> tuple[Problem, ...]:
        collected = list(self.document_problems)
        reports: list[SignatureReport | TimestampReport] = [*self.signatures, *self.document_timestamps]
        for report in reports:
            collected.extend(p for p in report.problems if p not in collected)
        return tuple(collected)

    @property
    def valid(self) -> bool:
        return bool(self.signatures) and not self.problems

    def as_dict(self) -> dict[str, Any]:
        def when(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        def problems(items: Iterable[Problem]) -> list[dict[str, str]]:
            return [{"message": p.zh, "message_en": p.en} for p in items]

        return {
            "valid": self.valid,
            "sha256": self.sha256,
            "size": self.size,
            "problems": problems(self.problems),
            "signatures": [
                {
                    "field_name": s.field_name,
                    "signer_name": s.signer_name,
                    "signer_organisation": s.signer_organisation,
                    "signer_code": s.signer_code,
                    "signer_certificate_sha256": s.signer_certificate_sha256,
                    "signer_key_sha256": s.signer_key_sha256,
                    "issuer_name": s.issuer_name,
                    "signing_time": when(s.signing_time),
                    "timestamp_time": when(s.timestamp_time),
                    "timestamp_authority": s.timestamp_authority,
                    "intact": s.intact,
                    "trusted": s.trusted,
                    "timestamp_trusted": s.timestamp_trusted,
                    "covers_whole_document": s.covers_whole_document,
                    "modified_after": s.modified_after,
                    "level": s.level,
                    "valid": s.valid,
                    "problems": problems(s.problems),
                }
                for s in self.signatures
            ],
            "document_timestamps": [
                {
                    "field_name": t.field_name,
                    "time": when(t.time),
                    "authority": t.authority,
                    "intact": t.intact,
                    "trusted": t.trusted,
                    "modified_after": t.modified_after,
                    "valid": t.valid,
                    "problems": problems(t.problems),
                }
                for t in self.document_timestamps
            ],
        }


def verify_pdf(
    pdf: bytes, *, trust_roots: Sequence[asn1_x509.Certificate] | None = None, at: dt.datetime | None = None
) -> PdfVerification:
    """Report on every signature in ``pdf``. ``trust_roots`` replaces this deployment's roots, e.g. to
    accept only a pinned notary office; ``at`` judges certificates at that time instead of now.
    Raises :class:`NotAPdf` for anything that is not a PDF."""
    roots = list(trust_roots) if trust_roots is not None else deployment_trust_roots()
    reader = _reader(pdf)
    embedded, broken = _embedded_signatures(reader)
    has_dss = "/DSS" in reader.root
    timestamp_revisions = [e.signed_revision for e in embedded if e.sig_object_type == "/DocTimeStamp"]
    signatures: list[SignatureReport] = []
    timestamps: list[TimestampReport] = []
    for item in embedded:
        if item.sig_object_type == "/DocTimeStamp":
            timestamps.append(_document_timestamp(item, roots, at))
        else:
            archived = has_dss and any(revision > item.signed_revision for revision in timestamp_revisions)
            signatures.append(_signature(item, roots, at, archived=archived, has_dss=has_dss))
    signatures.extend(_broken_signature(name) for name in broken)
    document_problems = [] if signatures else [NO_SIGNATURE]
    if pdf[pdf.rfind(b"%%EOF") + len(b"%%EOF") :].strip():
        document_problems.append(TRAILING_DATA)
    return PdfVerification(
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        signatures=tuple(signatures),
        document_timestamps=tuple(timestamps),
        document_problems=tuple(document_problems),
    )


def _embedded_signatures(reader: PdfFileReader) -> tuple[list[EmbeddedPdfSignature], list[str]]:
    """The signatures pyHanko can read, in signing order, and the names of fields whose data is damaged."""
    readable: list[EmbeddedPdfSignature] = []
    broken: list[str] = []
    try:
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except (PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotAPdf(str(exc)) from exc
    for name, _, field_ref in fields:
        try:
            readable.append(EmbeddedPdfSignature(reader, field_ref, name))
        except (PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.info("signature %s is damaged: %s", name, exc)
            broken.append(name)
    readable.sort(key=lambda item: item.signed_revision)
    return readable, broken


def _reader(pdf: bytes) -> PdfFileReader:
    if b"%PDF-" not in pdf[:1024]:  # the header may follow up to 1 KB of other bytes
        raise NotAPdf()
    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise NotAPdf(str(exc)) from exc


def _context(roots: list[asn1_x509.Certificate], moment: dt.datetime | None = None) -> ValidationContext:
    # Nothing is fetched: the verdict depends only on the file and on this deployment's roots.
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment)


def _signature(
    item: EmbeddedPdfSignature,
    roots: list[asn1_x509.Certificate],
    at: dt.datetime | None,
    *,
    archived: bool,
    has_dss: bool,
) -> SignatureReport:
    try:
        status = _validate_signature(item, roots, at)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        logger.info("signature %s could not be validated: %s", item.field_name, exc)
        return _broken_signature(item.field_name)
    ts = status.timestamp_validity
    timestamp_trusted = ts is not None and ts.intact and ts.valid and ts.trusted
    covers_whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    modified_after = _modified_after(status, item)
    problems: list[Problem] = []
    if not status.intact:
        problems.append(CHANGED)
    elif not status.valid:
        problems.append(BAD_SIGNATURE)
    if status.intact and status.valid and not status.trusted:
        problems.append(EXPIRED if _expired(status.signing_cert, at) else UNTRUSTED)
    if ts is None:
        problems.append(NO_TIMESTAMP)
    elif not timestamp_trusted:
        problems.append(BAD_TIMESTAMP)
    if status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        problems.append(PARTIAL_COVERAGE)
    elif modified_after:
        problems.append(MODIFIED_AFTER)
    level = "" if problems else _level(item, roots, timestamped=ts is not None, has_dss=has_dss, archived=archived)
    subject = _name_fields(status.signing_cert.subject)
    return SignatureReport(
        field_name=item.field_name,
        signer_name=subject.get("common_name", ""),
        signer_organisation=subject.get("organization_name", ""),
        signer_code=subject.get("serial_number", ""),
        signer_certificate_sha256=status.signing_cert.sha256.hex(),
        signer_key_sha256=certificate_pin(status.signing_cert),
        issuer_name=_name_fields(status.signing_cert.issuer).get("common_name", ""),
        signing_time=status.signer_reported_dt,
        timestamp_time=ts.timestamp if ts is not None else None,
        timestamp_authority=_authority(ts),
        intact=status.intact,
        trusted=status.intact and status.valid and status.trusted,
        timestamp_trusted=timestamp_trusted,
        covers_whole_document=covers_whole,
        modified_after=modified_after,
        level=level,
        problems=tuple(problems),
    )


def _validate_signature(
    item: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], at: dt.datetime | None
) -> PdfSignatureStatus:
    status = validate_pdf_signature(
        item, signer_validation_context=_context(roots, at), ts_validation_context=_context(roots, at)
    )
    ts = status.timestamp_validity
    if not status.trusted and _expired(status.signing_cert, at) and ts is not None and ts.valid and ts.trusted:
        # A certificate that has since expired was good when the trusted timestamp proves the signature existed.
        return validate_pdf_signature(
            item,
            signer_validation_context=_context(roots, moment=ts.timestamp),
            ts_validation_context=_context(roots, at),
        )
    return status


def _expired(certificate: asn1_x509.Certificate, at: dt.datetime | None) -> bool:
    return certificate.not_valid_after < (at or dt.datetime.now(dt.UTC))


def _broken_signature(field_name: str) -> SignatureReport:
    return SignatureReport(
        field_name=field_name,
        signer_name="",
        signer_organisation="",
        signer_code="",
        signer_certificate_sha256="",
        signer_key_sha256="",
        issuer_name="",
        signing_time=None,
        timestamp_time=None,
        timestamp_authority="",
        intact=False,
        trusted=False,
        timestamp_trusted=False,
        covers_whole_document=False,
        modified_after=False,
        level="",
        problems=(MALFORMED_SIGNATURE,),
    )


def _document_timestamp(
    item: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], at: dt.datetime | None
) -> TimestampReport:
    try:
        status: DocumentTimestampStatus = validate_pdf_timestamp(item, validation_context=_context(roots, at))
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        logger.info("document timestamp %s could not be validated: %s", item.field_name, exc)
        return TimestampReport(item.field_name, None, "", False, False, False, (MALFORMED_SIGNATURE,))
    modified_after = _modified_after(status, item)
    problems: list[Problem] = []
    if not status.intact:
        problems.append(CHANGED)
    elif not (status.valid and status.trusted):
        problems.append(BAD_TIMESTAMP)
    if status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        problems.append(PARTIAL_COVERAGE)
    elif modified_after:
        problems.append(MODIFIED_AFTER)
    return TimestampReport(
        field_name=item.field_name,
        time=status.timestamp,
        authority=_authority(status),
        intact=status.intact,
        trusted=status.intact and status.valid and status.trusted,
        modified_after=modified_after,
        problems=tuple(problems),
    )


def _modified_after(status: ModificationInfo, item: EmbeddedPdfSignature) -> bool:
    """Anything appended after the signed revision other than further signatures and validation data
    (a DSS, document timestamps); filling any other form field counts. pyHanko accepts any rewrite of
    the document information and the XMP as validation data; here only the dates and producer name that
    every writer stamps may change."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return False
    level = status.modification_level
    if level not in ACCEPTABLE_LATER_CHANGES or status.docmdp_ok is False:
        return True
    reader = item.reader
    if level == ModificationLevel.FORM_FILLING and not _only_signature_fields_filled(status, reader):
        return True
    latest = reader.xrefs.total_revisions - 1
    return _metadata(reader.get_historical_resolver(item.signed_revision)) != _metadata(
        reader.get_historical_resolver(latest)
    )


def _only_signature_fields_filled(status: ModificationInfo, reader: PdfFileReader) -> bool:
    """pyHanko counts filling any form field as form filling; after signing only signatures may be added."""
    diff = status.diff_result
    if not isinstance(diff, DiffResult):
        return False
    signature_fields = {name for name, _, _ in enumerate_sig_fields(reader, filled_status=None)}
    return diff.changed_form_fields <= signature_fields


def _metadata(revision: HistoricalResolver) -> tuple[dict[str, Any], dict[Any, Any] | bytes | None]:
    """The document information and XMP properties as of ``revision``, without the writer-stamped ones."""
    trailer = revision.trailer_view
    info = _resolve(revision, trailer.raw_get("/Info")) if "/Info" in trailer else None
    info_fields = (
        {key: str(_resolve(revision, info.raw_get(key))) for key in info if key not in WRITER_INFO_KEYS}
        if isinstance(info, generic.DictionaryObject)
        else {}
    )
    root = _resolve(revision, trailer.raw_get("/Root"))
    stream = _resolve(revision, root.raw_get("/Metadata")) if "/Metadata" in root else None
    if not isinstance(stream, generic.StreamObject):
        return info_fields, None
    data = stream.data
    try:
        properties = {key: value for part in xmp_xml.parse_xmp(io.BytesIO(data)) for key, value in part}
    except (ValueError, SyntaxError, PdfError, KeyError, TypeError):
        return info_fields, data  # unreadable XMP: any byte of difference counts
    return info_fields, {key: value for key, value in properties.items() if key not in WRITER_XMP_FIELDS}


def _resolve(revision: HistoricalResolver, value: Any) -> Any:
    """An object as it was in ``revision`` (a plain dereference would give its latest version)."""
    if isinstance(value, generic.IndirectObject):
        return revision(value.reference)
    return value


def _level(
    item: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], *, timestamped: bool, has_dss: bool, archived: bool
) -> str:
    """The PAdES level a valid signature reaches: B-B, B-T with its trusted timestamp; B-LT only when
    the revocation data in the file proves its certificates were good; B-LTA only when, in addition,
    a trusted document timestamp after it covers that data."""
    if not timestamped:
        return "B-B"
    if not has_dss or not _dss_speaks_for(item):
        return "B-T"
    long_term, evidence = _long_term(item, roots)
    if not long_term:
        return "B-T"
    return "B-LTA" if archived and evidence else "B-LT"


def _dss_speaks_for(item: EmbeddedPdfSignature) -> bool:
    """Whether the file's DSS holds an OCSP response or a CRL from the signer certificate's issuer, so
    that this deployment's own CRL, made in-process during long-term validation, only refreshes data the
    file already carries."""
    try:
        dss = DocumentSecurityStore.read_dss(item.reader)
    except (ValidationInfoReadingError, PdfError, ValueError, KeyError, TypeError):
        return False
    if dss.ocsps:
        return True
    issuer = item.signer_cert.issuer
    for reference in dss.crls:
        try:
            data = reference.get_object().read_data(DecodePurpose.CRL)
            if asn1_crl.CertificateList.load(data).issuer == issuer:
                return True
        except (PdfError, ValueError, KeyError, TypeError):
            continue
    return False


def _long_term(item: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> tuple[bool, bool]:
    """ETSI EN 319 102-1 long-term validation as pyHanko's ``adesverify`` runs it, with revocation data
    required for every certificate but taken only from the file and from this deployment's own CRL:
    (passed, a document timestamp after the signature served as proof of existence)."""
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(
            REQUIRE_REVINFO, freshness=None, freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION
        ),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                fetcher_backend=OfflineFetcherBackend(),
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            ),
        ),
        diff_policy=DEFAULT_DIFF_POLICY,
    )
    try:
        result = asyncio.run(ades_lta_validation(item, spec))
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        logger.info("long-term validation of %s failed: %s", item.field_name, exc)
        return False, False
    return result.ades_subindic == AdESPassed.OK, result.oldest_evidence_record_timestamp is not None


def _authority(status: TimestampSignatureStatus | None) -> str:
    if status is None:
        return ""
    fields = _name_fields(status.signing_cert.subject)
    return fields.get("common_name") or fields.get("organization_name", "")


def _name_fields(name: asn1_x509.Name) -> dict[str, str]:
    native = name.native
    return {key: value if isinstance(value, str) else ", ".join(value) for key, value in native.items()}
