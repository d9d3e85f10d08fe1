"""A buyer's sealed evidence: canonical JSON signed by the notary office with a detached CMS signature.

The signature is made with the office's document-signing key (``documents.pki``, the same key that seals its
PDFs) over the exact manifest bytes; ``verify_manifest`` checks it offline against this deployment's trust
roots, fetching nothing.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asn1crypto import cms
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

from ecancel.documents.pki.backends import organisation_signer, trust_roots

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation

FORMAT = "ecancel.buyer-manifest/1"


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per manifest, so a signature can be checked again."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def manifest_sign(content: bytes, *, office: Organisation) -> bytes:
    """A detached CMS (PKCS #7) signature over ``content`` by the office's signing key, DER-encoded."""
    signer = organisation_signer(office)
    signed = asyncio.run(signer.async_sign_general_data(content, "sha256", detached=True))
    return bytes(signed.dump())


@dataclass(frozen=True)
class ManifestCheck:
    valid: bool
    reason: str
    signer: str = ""


def manifest_verify(content: bytes, signature: bytes) -> ManifestCheck:
    """Whether ``signature`` is a valid, trusted signature over exactly ``content``, made by the office the
    manifest names. Offline: only this deployment's trust roots, no revocation fetching."""
    try:
        manifest = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ManifestCheck(False, "not JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return ManifestCheck(False, f"not a {FORMAT} manifest")
    if canonical(manifest) != content:
        return ManifestCheck(False, "not in canonical form (the bytes were changed)")
    try:
        info = cms.ContentInfo.load(signature)
        signed_data = info["content"]
        if info["content_type"].native != "signed_data":
            return ManifestCheck(False, "the signature file is not CMS signed data")
    except (ValueError, TypeError, KeyError):
        return ManifestCheck(False, "the signature file is not CMS")
    context = ValidationContext(trust_roots=trust_roots(), allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = asyncio.run(async_validate_detached_cms(content, signed_data, signer_validation_context=context))
    except Exception as exc:  # noqa: BLE001 - any failure to check is a failed check, with its reason
        return ManifestCheck(False, f"the signature could not be checked: {exc}")
    signer = status.signing_cert.subject.human_friendly
    if not status.intact or not status.valid:
        return ManifestCheck(False, "the signature does not match the manifest (altered)", signer)
    if not status.trusted:
        return ManifestCheck(False, "the signer's certificate is not trusted here", signer)
    office = str(manifest.get("office", {}).get("name", ""))
    names = [str(v) for v in status.signing_cert.subject.native.values()]
    if office not in names:
        return ManifestCheck(False, f"signed by {signer}, not by the office the manifest names ({office})", signer)
    return ManifestCheck(True, "valid", signer)
