"""``ecancel rotate_keys``: after a new key joins the ring, everything old is re-encrypted under it (stored files
written before files were encrypted are sealed on the way), a run stopped half-way is finished by the next, and
once done the old key can leave the ring."""

from __future__ import annotations

import base64
import json
import os
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db.models import TextField
from django.db.models.functions import Cast
from pytest_django import Settings

from ecancel.accounts.models import User
from ecancel.config.storage import default_storage_from_env
from ecancel.core.encrypted import stored_key_id, value_digest
from ecancel.core.keyring import key_ring
from ecancel.core.storage import encrypted_storage, storage_rewrite
from ecancel.filing.models import BuyerParty
from ecancel.identity.evidence import evidence_get, evidence_key_id, evidence_put, evidence_rekey
from ecancel.notifications import contacts
from ecancel.notifications.models import Subscription
from tests.factories import DeveloperFactory, contract_with_buyers

pytestmark = pytest.mark.django_db

PHOTO = b"\xff\xd8\xff a face"


@pytest.fixture
def storage(settings: Settings, tmp_path: Path) -> Path:
    settings.ECANCEL_KEYS_DIR = tmp_path / "keys"
    settings.ECANCEL_KEY_RING = ""
    settings.ECANCEL_EVIDENCE_KEY = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": default_storage_from_env({}, tmp_path / "files"),
    }
    return tmp_path


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def key_ids_of_buyers() -> set[str | None]:
    stored = BuyerParty.objects.annotate(raw=Cast("id_number", output_field=TextField()))
    return {stored_key_id(raw) for raw in stored.values_list("raw", flat=True)}


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return out.getvalue()


def test_a_rotation_re_encrypts_fields_and_files_and_the_old_key_can_then_go(storage: Path, settings: Settings) -> None:
    old, new = new_key(), new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [old]})
    contract = contract_with_buyers(2)
    numbers = {b.pk: b.id_number for b in contract.buyers.all()}
    digests = {b.pk: b.id_number_digest for b in contract.buyers.all()}
    files = [evidence_put(PHOTO, purpose="face_photo").name for _ in range(3)]
    old_id = key_ring().current.key_id

    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new, old]})
    new_id = key_ring().current.key_id
    assert key_ids_of_buyers() == {old_id}, "nothing changes until rewritten"
    assert all(evidence_get(f, actor=None, organisation=None, ctx=None) == PHOTO for f in files)
    written_now = evidence_put(PHOTO, purpose="face_photo").name
    assert evidence_key_id(written_now) == new_id, "new writes use the current key"

    # A run stopped after one file and one row: the rest is still readable under the old key.
    assert evidence_rekey(files[0]) is True
    first = contract.buyers.get(position=1)
    first.save()
    assert key_ids_of_buyers() == {old_id, new_id}

    assert "dry" not in rotate("--dry-run") and key_ids_of_buyers() == {old_id, new_id}
    report = rotate()
    assert "filing.BuyerParty: 1 rows re-encrypted" in report, report
    assert "evidence files: 2 re-encrypted" in report, report
    assert key_ids_of_buyers() == {new_id}
    assert {evidence_key_id(f) for f in [*files, written_now]} == {new_id}
    again = rotate()
    assert "filing.BuyerParty: 0 rows re-encrypted" in again and "evidence files: 0 re-encrypted" in again

    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new], "lookup_key": old})
    assert {b.pk: b.id_number for b in contract.buyers.all()} == numbers
    assert {b.pk: b.id_number_digest for b in contract.buyers.all()} == digests
    assert all(b.id_number_digest == value_digest(b.id_number, kind="id_number") for b in contract.buyers.all())
    assert all(evidence_get(f, actor=None, organisation=None, ctx=None) == PHOTO for f in files)
    assert not [p for p in (storage / "files").rglob("*") if p.name.startswith(".")], "no file left aside"


def test_the_local_ring_gets_its_new_key_from_the_command(storage: Path, operator: User) -> None:
    contract = contract_with_buyers(1)
    stored = evidence_put(PHOTO, purpose="video")
    before = key_ring().current.key_id
    report = rotate("--new-key")
    after = key_ring().current.key_id
    assert after != before and f"new current key {after}" in report
    assert (storage / "keys" / "ring" / "0001.key").exists()
    assert key_ids_of_buyers() == {after} and evidence_key_id(stored.name) == after
    assert contract.buyers.get().id_number and evidence_get(stored.name, actor=operator, organisation=None, ctx=None)


def test_a_configured_ring_refuses_a_key_made_on_local_disk(storage: Path, settings: Settings) -> None:
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new_key()]})
    with pytest.raises(CommandError, match="ECANCEL_KEY_RING"):
        rotate("--new-key")


def test_a_file_under_a_key_no_longer_in_the_ring_is_named_and_the_rest_is_done(
    storage: Path, settings: Settings
) -> None:
    lost, kept = new_key(), new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [lost]})
    orphan = evidence_put(PHOTO, purpose="video").name
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [kept]})
    readable = evidence_put(PHOTO, purpose="video").name
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new_key(), kept]})
    with pytest.raises(CommandError, match="evidence_other_key") as caught:
        rotate()
    assert orphan in str(caught.value)
    assert evidence_key_id(readable) == key_ring().current.key_id
    assert default_storage.exists(orphan), "what cannot be read is left as it is"


def legacy_seal(value: dict[str, str], *, bound_to: str) -> str:
    """A contact as sealed before the key ring: under a key derived from the lookup key, no key id."""
    nonce = os.urandom(12)
    plain = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
    sealed = AESGCM(contacts._derived_key(b"contact seal")).encrypt(nonce, plain, bound_to.encode())
    return contacts.LEGACY_SEAL_PREFIX + base64.b64encode(nonce + sealed).decode()


def test_sealed_contacts_follow_the_ring_including_those_sealed_before_it(storage: Path, settings: Settings) -> None:
    old, new = new_key(), new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [old]})
    contact = {"phone": "+8613912345678"}
    under_old = Subscription.objects.create(recipient="party:1", topic="case:1", language="zh-hans")
    under_old.contact_sealed = contacts.seal(contact, bound_to=f"subscription:{under_old.pk}")
    under_old.save()
    before_ring = Subscription.objects.create(recipient="party:2", topic="case:1", language="zh-hans")
    before_ring.contact_sealed = legacy_seal(contact, bound_to=f"subscription:{before_ring.pk}")
    before_ring.save()

    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new, old]})
    assert "sealed contacts and delivery payloads: 2 re-sealed" in rotate()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new], "lookup_key": old})
    for row in Subscription.objects.all():
        assert contacts.sealed_key_id(row.contact_sealed) == key_ring().current.key_id
        assert contacts.unseal(row.contact_sealed, bound_to=f"subscription:{row.pk}") == contact


PAPERS = ("legal_representative_id_front", "legal_representative_id_back", "business_licence")


def test_stored_files_are_sealed_under_the_new_key_those_from_before_encryption_too(
    storage: Path, settings: Settings
) -> None:
    old, new = new_key(), new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [old]})
    old_id = key_ring().current.key_id
    company = DeveloperFactory()
    legacy = b"\x89PNG a licence stored before files were encrypted, 440101199003070011"
    company.business_licence.name = default_storage.save("org/legacy-licence.png", ContentFile(legacy))
    company.save()
    names = {paper: getattr(company, paper).name for paper in PAPERS}
    contents = {paper: encrypted_storage.plaintext(name) for paper, name in names.items()}
    assert contents["business_licence"] == legacy, "a file from before reads as itself until sealed"

    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new, old]})
    new_id = key_ring().current.key_id
    counted = rotate("--dry-run")
    assert "accounts.DeveloperCompany.business_licence files by key: {'plaintext': 1}" in counted, counted
    assert f"accounts.DeveloperCompany.legal_representative_id_front files by key: {{'{old_id}': 1}}" in counted
    assert encrypted_storage.key_id(names["business_licence"]) is None, "a dry run changes nothing"

    report = rotate()
    for paper in PAPERS:
        assert f"accounts.DeveloperCompany.{paper} files: 1 re-encrypted" in report, report
    assert {encrypted_storage.key_id(name) for name in names.values()} == {new_id}
    assert b"440101199003070011" not in encrypted_storage.stored_bytes(names["business_licence"])
    assert "accounts.DeveloperCompany.business_licence files: 0 re-encrypted" in rotate()

    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new], "lookup_key": old})
    company.refresh_from_db()
    for paper in PAPERS:
        with getattr(company, paper).open("rb") as handle:
            assert handle.read() == contents[paper]
    assert not [p for p in (storage / "files").rglob("*") if p.name.startswith(".")], "no file left aside"


def test_a_damaged_stored_file_is_named_a_missing_one_passed_over_and_the_rest_done(
    storage: Path, settings: Settings
) -> None:
    old = new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [old]})
    company = DeveloperFactory()
    damaged = company.legal_representative_id_front.name
    sealed = encrypted_storage.stored_bytes(damaged)
    storage_rewrite(damaged, lambda _stored: sealed[:-1] + bytes([sealed[-1] ^ 1]))
    default_storage.delete(company.legal_representative_id_back.name)  # e.g. removed at the end of its retention

    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new_key(), old]})
    with pytest.raises(CommandError, match="file_tampered") as caught:
        rotate()
    assert damaged in str(caught.value)
    assert encrypted_storage.key_id(company.business_licence.name) == key_ring().current.key_id
    assert encrypted_storage.stored_bytes(damaged)[-1] == sealed[-1] ^ 1, "what cannot be read is left as it is"
