"""The embedded default PKI: a local root CA, a timestamp-authority certificate and one signing
certificate per organisation, all kept as files in one directory.

When given the public base URL of its revocation lists, the CA names ``<base>/<crl_name>.crl`` as
the CRL distribution point of every certificate it issues and signs that CRL on request, so any
verifier can check revocation. A certificate issued without that URL, or under another base URL,
is replaced on its next use (the old one is kept beside it, see ``_retire``).

Free of Django so that two processes (or a test) can create the same CA at once: every file is
created under an exclusive ``flock`` and published by an atomic rename, certificate after key, so a
reader that sees a certificate always finds its key. Two directories are two unrelated CAs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_YEARS = 20
TSA_YEARS = 10
ORGANISATION_YEARS = 5
# A certificate this close to its end is replaced before the next signature, never used.
RENEW_BEFORE = dt.timedelta(days=30)
# A CRL is signed on request; verifiers may keep one this long before asking again.
CRL_VALIDITY = dt.timedelta(days=7)
# thisUpdate lies a little in the past, for verifiers whose clock runs slow.
CRL_BACKDATE = dt.timedelta(minutes=5)
# Leaves sign (documents, timestamps) and nothing else: no key exchange, no issuing.
_SIGNING_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class KeyMaterial:
    """A certificate, its private key and the issuing certificates up to the root."""

    certificate: x509.Certificate
    private_key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True)
class SubjectInfo:
    """Who a signing certificate names: the organisation's name and its official code."""

    key: str
    name: str
    code: str = ""

    def x509_name(self) -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.name))
        if self.code:
            attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, self.code))
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, _common_name(self.name)))
        return x509.Name(attributes)


COMMON_NAME_BYTES = 64  # RFC 5280 ub-common-name, as cryptography counts it: UTF-8 bytes


def _common_name(name: str) -> str:
    """The name cut to what a common name holds, at a character boundary; verifiers read the full name from O."""
    return name.encode()[:COMMON_NAME_BYTES].decode(errors="ignore")


class LocalCA:
    def __init__(self, directory: Path, *, crl_base_url: str = "") -> None:
        self.directory = Path(directory)
        self.crl_base_url = crl_base_url.rstrip("/")

    @property
    def root_certificate_path(self) -> Path:
        return self.directory / "ca" / "root.pem"

    def root(self) -> KeyMaterial:
        return self._get_or_create("ca", "root", self._make_root, chain=())

    def crl_name(self) -> str:
        """The name the root's CRL is published under: its key identifier, so two CAs never share one."""
        return _key_identifier(self.root().certificate).hex()[:16]

    def crl_url(self) -> str:
        """Where the certificates issued now say their CRL is; empty when no base URL was given."""
        return f"{self.crl_base_url}/{self.crl_name()}.crl" if self.crl_base_url else ""

    def crl(self, now: dt.datetime | None = None) -> bytes:
        """The root's certificate revocation list (DER), signed now. The local CA revokes nothing: a
        replaced certificate stays good for what it signed, so the list is complete and empty."""
        root = self.root()
        moment = now or dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(root.certificate.subject)
            .last_update(moment - CRL_BACKDATE)
            .next_update(moment + CRL_VALIDITY)
            .add_extension(x509.CRLNumber(int(moment.timestamp() * 1000)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        return builder.sign(root.private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def timestamp_authority(self) -> KeyMaterial:
        root = self.root()
        crl_url = self.crl_url()
        return self._get_or_create(
            "ca",
            "tsa",
            lambda: self._make_tsa(root, crl_url),
            chain=(root.certificate,),
            is_current=lambda material: _names_crl(material.certificate, crl_url),
        )

    def organisation(self, subject: SubjectInfo) -> KeyMaterial:
        """The organisation's current certificate; a new one when its name or code changed, it is
        expiring, or it does not name the CRL this CA publishes now."""
        root = self.root()
        crl_url = self.crl_url()

        def current(material: KeyMaterial) -> bool:
            certificate = material.certificate
            return (
                certificate.subject == subject.x509_name()
                and not _expiring(certificate)
                and _names_crl(certificate, crl_url)
            )

        return self._get_or_create(
            "organisations",
            _safe_stem(subject.key),
            lambda: self._make_organisation(subject, root, crl_url),
            chain=(root.certificate,),
            is_current=current,
        )

    def _make_root(self) -> tuple[PrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        # A random suffix keeps two deployments' roots apart in trust stores that index by name.
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ecancel"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"ecancel 本地根证书 {secrets.token_hex(4).upper()}"),
            ]
        )
        builder = (
            _builder(name, name, key.public_key(), years=ROOT_YEARS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        return key, builder.sign(key, hashes.SHA256())

    def _make_tsa(self, root: KeyMaterial, crl_url: str) -> tuple[PrivateKey, x509.Certificate]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ecancel"),
                x509.NameAttribute(NameOID.COMMON_NAME, "ecancel 本地时间戳服务"),
            ]
        )
        builder = (
            _leaf(name, key.public_key(), root, years=TSA_YEARS, crl_url=crl_url)
            .add_extension(
                _SIGNING_KEY_USAGE,
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        )
        return key, builder.sign(root.private_key, hashes.SHA256())

    def _make_organisation(
        self, subject: SubjectInfo, root: KeyMaterial, crl_url: str
    ) -> tuple[PrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _leaf(subject.x509_name(), key.public_key(), root, years=ORGANISATION_YEARS, crl_url=crl_url)
        builder = leaf.add_extension(
            _SIGNING_KEY_USAGE,
            critical=True,
        )
        return key, builder.sign(root.private_key, hashes.SHA256())

    def _get_or_create(
        self,
        folder: str,
        stem: str,
        make: Callable[[], tuple[PrivateKey, x509.Certificate]],
        *,
        chain: tuple[x509.Certificate, ...],
        is_current: Callable[[KeyMaterial], bool] | None = None,
    ) -> KeyMaterial:
        """Load, or create under the directory lock; ``make`` must not take the lock again."""
        directory = self.directory / folder
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
        material = _load(cert_path, key_path, chain)
        if material is not None and (is_current is None or is_current(material)):
            return material
        with self._lock():
            material = _load(cert_path, key_path, chain)
            if material is not None and (is_current is None or is_current(material)):
                return material
            if material is not None:
                _retire(cert_path, key_path, material.certificate)
            key, certificate = make()
            _write_atomic(key_path, _key_pem(key), mode=0o600)
            _write_atomic(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return KeyMaterial(certificate=certificate, private_key=key, chain=chain)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """The same certificate as pyHanko's asn1crypto type."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _load(cert_path: Path, key_path: Path, chain: tuple[x509.Certificate, ...]) -> KeyMaterial | None:
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError:
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"unsupported key type in {key_path}")
    return KeyMaterial(certificate=certificate, private_key=key, chain=chain)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, *, years: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Back-dated a little so a verifier whose clock runs slow does not see a future certificate.
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
    )


def _leaf(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: KeyMaterial,
    *,
    years: int,
    crl_url: str,
) -> x509.CertificateBuilder:
    issuer_ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        _builder(subject, issuer.certificate.subject, public_key, years=years)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False)
    )
    if crl_url:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None, crl_issuer=None
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder


def _key_identifier(certificate: x509.Certificate) -> bytes:
    return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def _crl_urls(certificate: x509.Certificate) -> tuple[str, ...]:
    """The CRL distribution point URLs a certificate names."""
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(
        name.value
        for point in points
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    )


def _names_crl(certificate: x509.Certificate, crl_url: str) -> bool:
    """Whether the certificate points to ``crl_url``; a CA made without a base URL accepts any."""
    return not crl_url or _crl_urls(certificate) == (crl_url,)


def _expiring(certificate: x509.Certificate) -> bool:
    return certificate.not_valid_after_utc - dt.datetime.now(dt.UTC) < RENEW_BEFORE


def _safe_stem(key: str) -> str:
    """File names from organisation keys without trusting their characters."""
    if key.replace("-", "").isalnum() and key.isascii() and len(key) <= 64:
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _retire(cert_path: Path, key_path: Path, certificate: x509.Certificate) -> None:
    """Keep a replaced certificate and key beside the new ones, named by serial number."""
    suffix = f"{certificate.serial_number:x}"
    os.replace(cert_path, cert_path.with_name(f"{cert_path.stem}.{suffix}.pem"))
    with contextlib.suppress(FileNotFoundError):
        os.replace(key_path, key_path.with_name(f"{key_path.stem}.{suffix}.pem"))
