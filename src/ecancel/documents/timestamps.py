"""RFC 3161 timestamps: the local timestamp authority of the embedded default, or an external TSA.

pyHanko's ``DummyTimeStamper`` re-parses its private key on every token; this authority keeps the
key loaded and answers in-process, so a signature costs one RSA operation for its timestamp.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import secrets
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.conf import settings
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from ecancel.documents.pki.backends import crl_base_url
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


def local_authority() -> LocalTimestampAuthority:
    """This deployment's authority, its key loaded once per process and keys directory."""
    return _local_authority(str(settings.ECANCEL_KEYS_DIR), crl_base_url())


@functools.cache
def _local_authority(keys_dir: str, crl_base: str) -> LocalTimestampAuthority:
    return LocalTimestampAuthority(LocalCA(Path(keys_dir), crl_base_url=crl_base).timestamp_authority())


def uses_local_authority() -> bool:
    return not settings.ECANCEL_TSA_URL


def timestamper() -> TimeStamper:
    """The external TSA when ``ECANCEL_TSA_URL`` is set, else the local authority; one per process."""
    return _timestamper(
        settings.ECANCEL_TSA_URL, str(settings.ECANCEL_KEYS_DIR), crl_base_url(), settings.ECANCEL_TSA_TIMEOUT
    )


@functools.cache
def _timestamper(url: str, keys_dir: str, crl_base: str, timeout: float) -> TimeStamper:
    if url:
        return HTTPTimeStamper(url, timeout=timeout)
    return LocalTimeStamper(_local_authority(keys_dir, crl_base))


def timestamp_token(sha256_digest: bytes) -> bytes:
    """A DER RFC 3161 token over a SHA-256 digest, from the configured authority (e.g. for audit checkpoints)."""
    token = asyncio.run(timestamper().async_timestamp(sha256_digest, "sha256"))
    return bytes(token.dump())
