"""RFC 3161 timestamps from the authority ``ECANCEL_TSA_BACKEND`` names: the local one of the embedded default
(``LocalTimestampBackend``), or an external authority over HTTP at ``ECANCEL_TSA_URL`` (``HttpTimestampBackend``).

pyHanko's ``DummyTimeStamper`` re-parses its private key on every token; the local authority keeps the
key loaded and answers in-process, so a signature costs one RSA operation for its timestamp.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import secrets
from pathlib import Path
from typing import Protocol

import httpx
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError

from ecancel.core.backends import load
from ecancel.documents.pki.backends import crl_base_url, local_root
from ecancel.documents.pki.local_ca import KeyMaterial, LocalCA, to_asn1

# Policy under which the local authority issues tokens: an ITU-T X.667 UUID arc, needs no registration.
LOCAL_TSA_POLICY = "2.25.51960506555236686028880301405754315303"
SUPPORTED_IMPRINTS = {"sha256", "sha384", "sha512"}


class LocalTimestampAuthority:
    """Signs RFC 3161 tokens with the local CA's timestamp certificate."""

    def __init__(self, material: KeyMaterial) -> None:
        self._key = material.private_key
        self._certificate = to_asn1(material.certificate)
        self._chain = [to_asn1(c) for c in material.chain]

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self._certificate

    def respond(self, request: tsp.TimeStampReq) -> bytes:
        """The DER ``TimeStampResp`` for a parsed request."""
        imprint: tsp.MessageImprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in SUPPORTED_IMPRINTS:
            return _rejection("bad_alg", f"unsupported message imprint algorithm {algorithm}")
        gen_time = dt.datetime.now(dt.UTC)
        info_args: dict[str, object] = {
            "version": "v1",
            "policy": LOCAL_TSA_POLICY,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127),
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "ordering": False,
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._certificate.subject),
        }
        if request["nonce"].native is not None:
            info_args["nonce"] = request["nonce"]
        info_bytes = tsp.TSTInfo(info_args).dump()
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(gen_time)})),
                # SHA-512, not the default SHA-256: a default is left out of the encoding, and asn1crypto
                # rebuilds a left-out structure as "changed", after which pyHanko re-encodes the token on
                # every access, twice per nesting level (asn1crypto issue #256): seconds per signature.
                simple_cms_attribute(
                    "signing_certificate_v2", as_signing_certificate_v2(self._certificate, hash_algo="sha512")
                ),
                simple_cms_attribute("message_digest", hashlib.sha256(info_bytes).digest()),
            ]
        )
        signature, signature_algorithm = self._sign(signed_attrs.dump())
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {"issuer": self._certificate.issuer, "serial_number": self._certificate.serial_number}
                        )
                    }
                ),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": signature_algorithm}),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        certificates = [self._certificate, *self._chain] if request["cert_req"].native else []
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": cms.DigestAlgorithms([algos.DigestAlgorithm({"algorithm": "sha256"})]),
                "encap_content_info": cms.EncapsulatedContentInfo(
                    {"content_type": "tst_info", "content": cms.ParsableOctetString(info_bytes)}
                ),
                "certificates": certificates or None,
                "signer_infos": [signer_info],
            }
        )
        return tsp.TimeStampResp(
            {
                "status": tsp.PKIStatusInfo({"status": "granted"}),
                "time_stamp_token": cms.ContentInfo({"content_type": "signed_data", "content": signed_data}),
            }
        ).dump()

    def respond_der(self, body: bytes) -> bytes:
        """Answer a DER ``TimeStampReq`` as an HTTP endpoint would (RFC 3161 §3.4)."""
        try:
            request = tsp.TimeStampReq.load(body)
            request.native  # noqa: B018 - parse everything now, not lazily while answering
        except (ValueError, TypeError):
            return _rejection("bad_request", "malformed timestamp request")
        return self.respond(request)

    def _sign(self, data: bytes) -> tuple[bytes, str]:
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "sha256_rsa"
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256())), "sha256_ecdsa"
        raise TypeError(f"unsupported timestamp key {type(self._key).__name__}")


class LocalTimeStamper(TimeStamper):
    """pyHanko's client side, answered by the in-process authority."""

    def __init__(self, authority: LocalTimestampAuthority) -> None:
        super().__init__(include_nonce=True)
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # Through DER and back, exactly as from an HTTP authority: a freshly built asn1crypto tree counts
        # as changed throughout and would be re-encoded on every access while pyHanko embeds it.
        return tsp.TimeStampResp.load(self.authority.respond(req))


class HttpTimeStamper(TimeStamper):
    """pyHanko's client side for an authority over HTTP (RFC 3161 §3.4). Every failure is a
    ``TimestampRequestError`` saying what happened: pyHanko's own HTTP client would hand asn1crypto a
    refusal it cannot parse (see ``_rejection``) and never looks at the HTTP status."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(include_nonce=True)
        self.url = url
        self.timeout = timeout

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:  # a client per request: each signature runs in an event loop of its own
            async with httpx.AsyncClient(follow_redirects=False, timeout=self.timeout) as client:
                response = await client.post(
                    self.url, content=req.dump(), headers={"Content-Type": "application/timestamp-query"}
                )
        except httpx.HTTPError as exc:
            raise TimestampRequestError(f"timestamp authority {self.url}: {type(exc).__name__}: {exc}") from exc
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200 or content_type != "application/timestamp-reply":
            raise TimestampRequestError(
                f"timestamp authority {self.url} answered {response.status_code} ({content_type or 'no content type'})"
            )
        return _granted(response.content, self.url)


def _granted(answer: bytes, url: str) -> tsp.TimeStampResp:
    """The parsed ``TimeStampResp`` if the authority granted a token; its refusal, named, otherwise."""
    try:
        status = tsp.PKIStatusInfo.load(core.Sequence.load(answer).contents)
        if status["status"].native not in ("granted", "granted_with_mods"):
            raise TimestampRequestError(
                f"timestamp authority {url} refused: {status['status'].native} "
                f"{sorted(status['fail_info'].native or ())} {status['status_string'].native or ''}"
            )
    except (ValueError, TypeError) as exc:
        raise TimestampRequestError(f"timestamp authority {url} answered something that is not RFC 3161") from exc
    # Parsed lazily, as pyHanko's own client does: parsing all of it now would rebuild left-out defaults (see
    # LocalTimestampAuthority.respond) and make pyHanko re-encode the token.
    return tsp.TimeStampResp.load(answer)


def _rejection(failure: str, text: str) -> bytes:
    """A refusal carries a status and no token; asn1crypto's TimeStampResp wrongly requires the token,
    so the outer SEQUENCE is written here."""
    status = tsp.PKIStatusInfo(
        {"status": "rejection", "status_string": [text], "fail_info": tsp.PKIFailureInfo({failure})}
    ).dump()
    return b"\x30" + _der_length(len(status)) + status


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


class TimestampAuthority(Protocol):
    """Where RFC 3161 tokens come from, for signatures, document timestamps and audit checkpoints."""

    def timestamper(self) -> TimeStamper:
        """pyHanko's client for this authority; the same object for as long as the backend lives."""
        ...

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """Roots this authority's certificates chain to, beyond ``ECANCEL_TRUSTED_ROOTS``."""
        ...


class LocalTimestampBackend:
    """The embedded default: tokens signed in this process with the local CA's timestamp certificate."""

    def __init__(self) -> None:
        self._timestamper = LocalTimeStamper(local_authority())

    def timestamper(self) -> TimeStamper:
        return self._timestamper

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return [local_root(Path(settings.ECANCEL_KEYS_DIR))]


class HttpTimestampBackend:
    """An external authority (RFC 3161 over HTTP, §3.4) at ``ECANCEL_TSA_URL``; its root goes in
    ``ECANCEL_TRUSTED_ROOTS``. An authority that cannot be reached or refuses raises pyHanko's
    ``TimestampRequestError``: nothing is signed without its timestamp."""

    def __init__(self) -> None:
        if not settings.ECANCEL_TSA_URL:
            raise ImproperlyConfigured(
                "ECANCEL_TSA_URL 未设置 / ECANCEL_TSA_URL must name the timestamp authority for HttpTimestampBackend"
            )
        self._timestamper = HttpTimeStamper(settings.ECANCEL_TSA_URL, timeout=settings.ECANCEL_TSA_TIMEOUT)

    def timestamper(self) -> TimeStamper:
        return self._timestamper

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return []


def local_authority() -> LocalTimestampAuthority:
    """This deployment's authority, its key loaded once per process and keys directory."""
    return _local_authority(str(settings.ECANCEL_KEYS_DIR), crl_base_url())


@functools.cache
def _local_authority(keys_dir: str, crl_base: str) -> LocalTimestampAuthority:
    return LocalTimestampAuthority(LocalCA(Path(keys_dir), crl_base_url=crl_base).timestamp_authority())


def timestamp_authority() -> TimestampAuthority:
    """The configured authority, made once per process (and per setting that shapes it, so tests can switch)."""
    return _timestamp_authority(
        settings.ECANCEL_TSA_BACKEND,
        settings.ECANCEL_TSA_URL,
        settings.ECANCEL_TSA_TIMEOUT,
        str(settings.ECANCEL_KEYS_DIR),
        crl_base_url(),
    )


@functools.cache
def _timestamp_authority(
    dotted_path: str, url: str, timeout: float, keys_dir: str, crl_base: str
) -> TimestampAuthority:
    """Arguments past the first only key the cache: the backends read them from the settings."""
    authority: TimestampAuthority = load("ECANCEL_TSA_BACKEND", TimestampAuthority, value=dotted_path)
    return authority


def timestamper() -> TimeStamper:
    """pyHanko's client for the configured authority; one per process."""
    return timestamp_authority().timestamper()


def timestamp_token(sha256_digest: bytes) -> bytes:
    """A DER RFC 3161 token over a SHA-256 digest, from the configured authority (e.g. for audit checkpoints)."""
    token = asyncio.run(timestamper().async_timestamp(sha256_digest, "sha256"))
    return bytes(token.dump())
