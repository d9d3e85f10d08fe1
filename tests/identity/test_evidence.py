"""Evidence at rest: AES-GCM with a key outside the database, server-chosen names, audited reads."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from pytest_django import Settings

from ecancel.accounts.models import User
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.core.keyring import key_ring
from ecancel.core.storage import encrypted_storage
from ecancel.identity.evidence import EvidenceUnreadable, evidence_get, evidence_put

SECRET = b"face image bytes \xff\xd8\xff 440101199003070011"


@pytest.fixture
def private_data(settings: Settings, tmp_path: Path) -> Path:
    """A fresh data directory and file storage, with no configured key."""
    settings.DATA_DIR = tmp_path
    settings.ECANCEL_KEYS_DIR = tmp_path / "keys"
    settings.ECANCEL_EVIDENCE_KEY = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files", "base_url": None},
        },
    }
    return tmp_path


def _stored_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _overwrite(name: str, content: bytes) -> None:
    Path(default_storage.path(name)).write_bytes(content)


def test_put_then_get_gives_the_content_back_and_audits_the_read(private_data: Path, operator: User) -> None:
    stored = evidence_put(SECRET, purpose="face_photo")
    assert stored.name.startswith("identity/face_photo/") and stored.name.endswith(".bin")
    assert stored.size == len(SECRET) and len(stored.sha256) == 64
    on_disk = _stored_bytes(stored.name)
    assert SECRET not in on_disk and b"440101" not in on_disk
    assert on_disk.startswith(b"EV1")

    ctx = RequestContext(ip="127.0.0.1", user_agent="test")
    assert evidence_get(stored.name, actor=operator, organisation=operator.organisation, ctx=ctx) == SECRET
    event = AuditEvent.objects.get(tag="identity.evidence.read")
    assert (event.actor, event.organisation, event.result) == (operator, operator.organisation, "ok")
    assert event.data == {"name": stored.name, "purpose": "face_photo"}
    assert event.ip == "127.0.0.1"


def test_a_file_in_the_evidence_format_as_first_written_still_opens(private_data: Path, operator: User) -> None:
    """``EV1`` + key id + nonce, the header and the name bound in: the layout of every evidence file already kept."""
    key = key_ring().current
    name = "identity/face_photo/" + "ab" * 16 + ".bin"
    header = b"EV1" + bytes.fromhex(key.key_id) + os.urandom(12)
    sealed = header + AESGCM(key.secret).encrypt(header[-12:], SECRET, header + name.encode())
    assert default_storage.save(name, ContentFile(sealed)) == name
    assert evidence_get(name, actor=operator, organisation=None, ctx=None) == SECRET
    assert SECRET not in encrypted_storage.plaintext(name), "evidence never opens as another kind of stored file"


def test_each_put_gets_its_own_name_and_nonce(private_data: Path) -> None:
    first, second = evidence_put(SECRET, purpose="video"), evidence_put(SECRET, purpose="video")
    assert first.name != second.name
    assert _stored_bytes(first.name)[:23] != _stored_bytes(second.name)[:23]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one bit of the tag
        lambda data: data[:30] + bytes([data[30] ^ 0x80]) + data[31:],  # one bit of the ciphertext
        lambda data: data[:20],  # cut short
        lambda data: b"plain text put in its place",
    ],
    ids=["tag", "ciphertext", "truncated", "replaced"],
)
def test_a_tampered_file_fails_to_decrypt_and_the_failure_is_audited(
    private_data: Path, operator: User, damage: object
) -> None:
    stored = evidence_put(SECRET, purpose="face_photo")
    _overwrite(stored.name, damage(_stored_bytes(stored.name)))  # type: ignore[operator]
    with pytest.raises(EvidenceUnreadable) as caught:
        evidence_get(stored.name, actor=operator, organisation=operator.organisation, ctx=None)
    assert caught.value.code == "evidence_tampered"
    assert caught.value.en == "The evidence file was altered or damaged and cannot be decrypted"
    assert AuditEvent.objects.get(tag="identity.evidence.read").result == "evidence_tampered"


def test_a_file_moved_to_another_name_fails_to_decrypt(private_data: Path, operator: User) -> None:
    original = evidence_put(SECRET, purpose="face_photo")
    other = evidence_put(b"someone else", purpose="face_photo")
    _overwrite(other.name, _stored_bytes(original.name))
    with pytest.raises(EvidenceUnreadable) as caught:
        evidence_get(other.name, actor=operator, organisation=None, ctx=None)
    assert caught.value.code == "evidence_tampered"


def test_the_key_file_is_created_once_private_and_reused(private_data: Path) -> None:
    first = key_ring().current
    path = private_data / "keys" / "evidence.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key_ring().current == first
    assert len(base64.b64decode(path.read_bytes())) == 32


def test_a_configured_key_wins_and_a_file_under_another_key_is_named_as_such(
    private_data: Path, settings: Settings, operator: User
) -> None:
    under_file_key = evidence_put(SECRET, purpose="face_photo")
    settings.ECANCEL_EVIDENCE_KEY = base64.b64encode(os.urandom(32)).decode()
    under_setting = evidence_put(SECRET, purpose="face_photo")
    assert evidence_get(under_setting.name, actor=operator, organisation=None, ctx=None) == SECRET
    with pytest.raises(EvidenceUnreadable) as caught:
        evidence_get(under_file_key.name, actor=operator, organisation=None, ctx=None)
    assert caught.value.code == "evidence_other_key"


def test_a_malformed_configured_key_is_refused(private_data: Path, settings: Settings) -> None:
    settings.ECANCEL_EVIDENCE_KEY = base64.b64encode(b"short").decode()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        evidence_put(SECRET, purpose="video")


@pytest.mark.parametrize("name", ["../secret_key", "identity/face_photo/../../secret_key", "identity/x/abc.bin"])
def test_names_not_made_here_are_not_found(private_data: Path, operator: User, name: str) -> None:
    with pytest.raises(EvidenceUnreadable) as caught:
        evidence_get(name, actor=operator, organisation=None, ctx=None)
    assert caught.value.code == "evidence_missing"


def test_purposes_are_plain_words(private_data: Path) -> None:
    with pytest.raises(ValueError, match="purpose"):
        evidence_put(SECRET, purpose="../escape")
