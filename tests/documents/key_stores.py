"""Organisations' keys as production keeps them: PKCS#12 files, and a PKCS#11 token (SoftHSM2) made per test."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ecancel.documents.pki.local_ca import KeyMaterial, LocalCA

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.fixture
def organisation_ca(tmp_path: Path) -> LocalCA:
    """The organisation's own CA, standing in for a commercial one: unrelated to this deployment."""
    return LocalCA(tmp_path / "organisation-ca")


def p12_file(path: Path, material: KeyMaterial, passphrase: bytes) -> Path:
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seller",
            material.private_key,
            material.certificate,
            list(material.chain),
            serialization.BestAvailableEncryption(passphrase),
        )
    )
    return path


@pytest.fixture
def softhsm_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    if not SOFTHSM.exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 (Debian softhsm2) is not installed")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    config = tmp_path / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(config))
    label = f"ecancel-{os.getpid()}-{tmp_path.name[-8:]}"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "87654321", "--pin", "123456"],
        check=True,
        capture_output=True,
    )
    yield {"label": label, "pin": "123456", "conf": str(config)}


def put_on_token(token: dict[str, str], material: KeyMaterial, key_label: str, tmp_path: Path) -> None:
    """The key goes in with SoftHSM's own tool, the certificate through PKCS#11, as a CA's token would hold them."""
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    key_pem = tmp_path / "key.pem"
    key_pem.write_bytes(
        material.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    command = ["softhsm2-util", "--import", str(key_pem), "--token", token["label"], "--label", key_label]
    subprocess.run(
        [*command, "--id", "01", "--pin", token["pin"]],
        check=True,
        capture_output=True,
    )
    key_pem.unlink()
    library = pkcs11.lib(str(SOFTHSM))
    library.reinitialize()
    with library.get_token(token_label=token["label"]).open(rw=True, user_pin=token["pin"]) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: key_label,
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: material.certificate.subject.public_bytes(),
                Attribute.VALUE: material.certificate.public_bytes(serialization.Encoding.DER),
            }
        )
