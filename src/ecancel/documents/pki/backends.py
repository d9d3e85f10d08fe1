"""Where an organisation's signing key lives: the local CA, a PKCS#12 file, or a PKCS#11 token.

``ECANCEL_SIGNING_BACKEND`` names the backend class; :func:`organisation_signer` gives a pyHanko
``Signer`` whose key was loaded once for this process, and :func:`trust_roots` the certificates a
signature must chain to for this deployment to call it trusted.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ecancel.core.backends import load
from ecancel.core.errors import DomainError
from ecancel.documents.pki.local_ca import RENEW_BEFORE, KeyMaterial, LocalCA, SubjectInfo, to_asn1

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation


class SigningBackend(Protocol):
    def signer(self, organisation: Organisation) -> Signer:
        """A signer for the organisation; the same object while its key and certificate stay the same."""
        ...

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """Roots this backend's certificates chain to, beyond ``ECANCEL_TRUSTED_ROOTS``."""
        ...


class SigningKeyMissing(DomainError):
    def __init__(self, organisation: Organisation) -> None:
        super().__init__(
            text=_("未配置“%(organisation_name)s”的签名密钥，请联系系统管理员"),
            code="signing_key_missing",
            http_status=503,
            params={"organisation_name": organisation.name},
        )


def organisation_code(organisation: Organisation) -> str:
    """The official code a certificate names: the credit code of a company, the code of a notary office."""
    for relation, field in (("developer", "credit_code"), ("notary_office", "code")):
        try:
            return str(getattr(getattr(organisation, relation), field))
        except ObjectDoesNotExist:
            continue
    return ""


def organisation_subject(organisation: Organisation) -> SubjectInfo:
    return SubjectInfo(key=str(organisation.pk), name=organisation.name, code=organisation_code(organisation))


def _lookup(mapping: dict[str, Any], organisation: Organisation) -> Any:
    """A per-organisation setting, keyed by the organisation's id or its official code."""
    for key in (str(organisation.pk), organisation_code(organisation)):
        if key and key in mapping:
            return mapping[key]
    raise SigningKeyMissing(organisation)


class InMemorySigner(Signer):
    """A pyHanko signer over an already parsed key; pyHanko's ``SimpleSigner`` re-parses it per signature."""

    def __init__(self, material: KeyMaterial) -> None:
        super().__init__(
            signing_cert=to_asn1(material.certificate),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in material.chain]),
        )
        self._key = material.private_key
        self.not_valid_after = material.certificate.not_valid_after_utc

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algorithm))
        raise TypeError(f"unsupported signing key {type(self._key).__name__}")


def deployment_ca() -> LocalCA:
    """The local CA under ``ECANCEL_KEYS_DIR``, publishing its CRL under ``ECANCEL_PUBLIC_URL``/pki/."""
    return LocalCA(Path(settings.ECANCEL_KEYS_DIR), crl_base_url=crl_base_url())


def crl_base_url() -> str:
    return f"{settings.ECANCEL_PUBLIC_URL}/pki"


class LocalCABackend:
    """The embedded default: keys made on demand by the local CA under ``ECANCEL_KEYS_DIR``."""

    def __init__(self) -> None:
        self.ca = deployment_ca()
        self._signers: dict[SubjectInfo, InMemorySigner] = {}

    def signer(self, organisation: Organisation) -> Signer:
        subject = organisation_subject(organisation)
        cached = self._signers.get(subject)
        if cached is None or cached.not_valid_after - timezone.now() < RENEW_BEFORE:
            cached = self._signers[subject] = InMemorySigner(self.ca.organisation(subject))
        return cached

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return [local_root(Path(settings.ECANCEL_KEYS_DIR))]


@dataclass(frozen=True)
class PKCS12Entry:
    path: Path
    passphrase: str

    @classmethod
    def from_setting(cls, value: str | dict[str, str]) -> PKCS12Entry:
        """``"/path.p12"`` (passphrase ``ECANCEL_SIGNING_KEYS_PASSPHRASE``) or ``{"path", "passphrase_env"}``."""
        if isinstance(value, str):
            return cls(Path(value), settings.ECANCEL_SIGNING_KEYS_PASSPHRASE)
        env = value.get("passphrase_env", "")
        return cls(Path(value["path"]), os.environ.get(env, "") if env else settings.ECANCEL_SIGNING_KEYS_PASSPHRASE)


class PKCS12Backend:
    """Production keys as PKCS#12 files, one per organisation (``ECANCEL_SIGNING_KEYS``)."""

    def __init__(self) -> None:
        self._signers: dict[Path, InMemorySigner] = {}
        self._lock = threading.Lock()

    def signer(self, organisation: Organisation) -> Signer:
        entry = PKCS12Entry.from_setting(_lookup(settings.ECANCEL_SIGNING_KEYS, organisation))
        with self._lock:
            if entry.path not in self._signers:
                self._signers[entry.path] = InMemorySigner(load_pkcs12(entry.path, entry.passphrase))
            return self._signers[entry.path]

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return []


def load_pkcs12(path: Path, passphrase: str) -> KeyMaterial:
    try:
        key, certificate, others = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase.encode() or None)
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"无法读取签章密钥文件 {path} / cannot read signing key file {path}: {exc}") from exc
    if certificate is None or not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ImproperlyConfigured(
            f"{path} 中没有带证书的 RSA 或 EC 密钥 / {path} holds no RSA or EC key with its certificate"
        )
    return KeyMaterial(certificate=certificate, private_key=key, chain=tuple(others))


class PKCS11Backend:
    """Keys that never leave a token (``ECANCEL_PKCS11_*``); one session per process, opened on first use."""

    def __init__(self) -> None:
        self._session: Any = None
        self._session_for: tuple[int, str, str] = (0, "", "")
        self._signers: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def signer(self, organisation: Organisation) -> Signer:
        entry = _lookup(settings.ECANCEL_PKCS11_KEYS, organisation)
        # "label", or {"label": ..., "raw_ecdsa": true} for tokens that only sign hashes made outside them.
        label, raw = (entry, False) if isinstance(entry, str) else (entry["label"], bool(entry.get("raw_ecdsa")))
        with self._lock:
            session = self._open()
            if label not in self._signers:
                self._signers[label] = PKCS11Signer(
                    session,
                    key_label=label,
                    cert_label=label,
                    other_certs_to_pull=None,
                    ca_chain=configured_trust_roots(),
                    use_raw_mechanism=raw,
                )
            return self._signers[label]

    def _open(self) -> Any:
        # A session does not survive fork(): a worker forked after the parent opened one starts afresh, and so
        # does a process whose settings now name another module or token.
        wanted = (os.getpid(), settings.ECANCEL_PKCS11_MODULE, settings.ECANCEL_PKCS11_TOKEN_LABEL)
        if self._session is None or self._session_for != wanted:
            from pyhanko.sign.pkcs11 import TokenCriteria, open_pkcs11_session

            if not settings.ECANCEL_PKCS11_MODULE:
                raise ImproperlyConfigured(
                    "ECANCEL_PKCS11_MODULE 须指定 PKCS#11 模块 / ECANCEL_PKCS11_MODULE must name the PKCS#11 module"
                )
            self._session = open_pkcs11_session(
                settings.ECANCEL_PKCS11_MODULE,
                token_criteria=TokenCriteria(label=settings.ECANCEL_PKCS11_TOKEN_LABEL or None),
                user_pin=settings.ECANCEL_PKCS11_PIN or None,
            )
            self._session_for = wanted
            self._signers.clear()
        return self._session

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return []


def signing_backend() -> SigningBackend:
    """The configured backend, made once per process (and per keys directory, so tests can switch)."""
    return _backend(settings.ECANCEL_SIGNING_BACKEND, str(settings.ECANCEL_KEYS_DIR), crl_base_url())


@functools.cache
def _backend(dotted_path: str, keys_dir: str, crl_base_url: str) -> SigningBackend:
    backend: SigningBackend = load("ECANCEL_SIGNING_BACKEND", SigningBackend, value=dotted_path)
    return backend


def organisation_signer(organisation: Organisation) -> Signer:
    return signing_backend().signer(organisation)


def certificate_pin(certificate: asn1_x509.Certificate) -> str:
    """The SHA-256 (hex) of a certificate's SubjectPublicKeyInfo, as received: it names the key, so a certificate
    re-issued for the same key keeps it, and another key in the same name never has it."""
    return hashlib.sha256(certificate.public_key.dump()).hexdigest()


def organisation_signing_pins(organisation: Organisation) -> list[str]:
    """The pin of the key this deployment signs the organisation's documents with; none without a key here."""
    try:
        signer = organisation_signer(organisation)
    except SigningKeyMissing:
        return []
    return [certificate_pin(signer.signing_cert)] if signer.signing_cert is not None else []


def configured_trust_roots() -> list[asn1_x509.Certificate]:
    return _configured_roots(tuple(settings.ECANCEL_TRUSTED_ROOTS))


@functools.cache
def _configured_roots(paths: tuple[str, ...]) -> list[asn1_x509.Certificate]:
    return list(load_certs_from_pemder(list(paths))) if paths else []


def trust_roots() -> list[asn1_x509.Certificate]:
    """What this deployment trusts: its signing backend's roots, its timestamp authority's, and configured roots."""
    from ecancel.documents.timestamps import timestamp_authority

    roots = [*signing_backend().trust_roots(), *timestamp_authority().trust_roots(), *configured_trust_roots()]
    unique: dict[bytes, asn1_x509.Certificate] = {root.sha256: root for root in roots}
    return list(unique.values())


@functools.cache
def local_root(keys_dir: Path) -> asn1_x509.Certificate:
    """The local CA's root (created on first use), read once per process."""
    return to_asn1(LocalCA(keys_dir).root().certificate)
