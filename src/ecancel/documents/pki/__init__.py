"""Signing keys and trust: the local CA of the embedded default and the production key stores."""

from ecancel.documents.pki.backends import (
    InMemorySigner,
    LocalCABackend,
    PKCS11Backend,
    PKCS12Backend,
    SigningBackend,
    SigningKeyMissing,
    organisation_signer,
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
    "organisation_signer",
    "signing_backend",
    "trust_roots",
]
