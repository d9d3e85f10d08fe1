"""Signing keys and trust: the local CA of the embedded default and the production key stores."""

from ecancel.documents.pki.backends import (
    InMemorySigner,
    LocalCABackend,
    PKCS11Backend,
    PKCS12Backend,
    SigningBackend,
    SigningKeyMissing,
    certificate_pin,
    organisation_signer,
    organisation_signing_pins,
    signing_backend,
    trust_roots,
)

__all__ = [
    "InMemorySigner",
    "LocalCABackend",
    "PKCS11Backend",
    "PKCS12Backend",
    "SigningBackend",
    "SigningKeyMissing",
    "certificate_pin",
    "organisation_signer",
    "organisation_signing_pins",
    "signing_backend",
    "trust_roots",
]
