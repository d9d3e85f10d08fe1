"""The key ring and the fields encrypted under it: ciphertexts name their key, old keys stay readable, look-ups go
through the keyed digest, and a ring on local disk is made once."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection
from django.db.models import TextField, Value
from django.utils import timezone
from pytest_django import Settings

from ecancel.core.encrypted import (
    UnreadableValue,
    decrypt_value,
    encrypt_existing,
    encrypt_value,
    stored_key_id,
    value_digest,
)
from ecancel.core.keyring import DataKey, add_local_key, key_ring
from ecancel.filing.models import BuyerParty
from ecancel.identity.models import CheckKind, IdentityCheck
from tests.factories import contract_with_buyers


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def local_ring(settings: Settings, tmp_path: Path) -> Path:
    settings.ECANCEL_KEYS_DIR = tmp_path / "keys"
    settings.ECANCEL_KEY_RING = ""
    settings.ECANCEL_EVIDENCE_KEY = ""
    return tmp_path / "keys"


def raw_column(buyer: BuyerParty) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM filing_buyerparty WHERE id = %s", [buyer.pk.hex])
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_a_local_ring_is_made_once_private_and_a_new_key_becomes_current(local_ring: Path) -> None:
    first = key_ring()
    assert first.on_local_disk and len(first.keys) == 1
    assert stat.S_IMODE((local_ring / "evidence.key").stat().st_mode) == 0o600
    assert key_ring() == first
    added = add_local_key()
    ring = key_ring()
    assert ring.current == added and ring.keys[1] == first.current
    assert ring.lookup_secret == first.lookup_secret, "the lookup key does not rotate"
    assert stat.S_IMODE((local_ring / "ring" / "0001.key").stat().st_mode) == 0o600


def test_a_configured_ring_puts_the_first_key_current_and_the_oldest_as_lookup(settings: Settings) -> None:
    newest, oldest = new_key(), new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [newest, oldest]})
    ring = key_ring()
    assert ring.current == DataKey.of(base64.b64decode(newest)) and not ring.on_local_disk
    assert ring.lookup_secret == base64.b64decode(oldest)
    lookup = new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [newest], "lookup_key": lookup})
    assert key_ring().lookup_secret == base64.b64decode(lookup)
    with pytest.raises(ImproperlyConfigured, match="add the new key there"):
        add_local_key()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json", "must be JSON"),
        ('{"keys": []}', "at least one key"),
        (json.dumps({"keys": [base64.b64encode(b"short").decode()]}), "32 bytes"),
        (json.dumps({"keys": ["QUJD" * 11]}), "32 bytes"),
        (json.dumps({"keys": [base64.b64encode(bytes(32)).decode()], "current": 1}), "unknown entries: current"),
    ],
)
def test_a_malformed_ring_is_refused_with_what_is_wrong(settings: Settings, value: str, problem: str) -> None:
    settings.ECANCEL_KEY_RING = value
    with pytest.raises(ImproperlyConfigured, match=problem):
        key_ring()


def test_the_same_key_twice_is_refused(settings: Settings) -> None:
    key = new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [key, key]})
    with pytest.raises(ImproperlyConfigured, match="same key twice"):
        key_ring()


def test_an_old_key_reads_what_it_wrote_and_new_writes_use_the_current_key(settings: Settings) -> None:
    old, new = new_key(), new_key()
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [old]})
    under_old = encrypt_value("110101199003077777", purpose="test.number")
    digest = value_digest("110101199003077777", kind="id_number")
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new, old]})
    assert decrypt_value(under_old, purpose="test.number") == "110101199003077777"
    under_new = encrypt_value("110101199003077777", purpose="test.number")
    assert stored_key_id(under_new) == key_ring().current.key_id != stored_key_id(under_old)
    assert value_digest("110101199003077777", kind="id_number") == digest, "digests survive a rotation"
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new]})
    with pytest.raises(UnreadableValue, match="not in the key ring"):
        decrypt_value(under_old, purpose="test.number")


def test_a_value_moved_to_another_field_or_altered_does_not_open(settings: Settings) -> None:
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new_key()]})
    stored = encrypt_value("E12345678", purpose="filing.buyerparty.id_number")
    with pytest.raises(UnreadableValue):
        decrypt_value(stored, purpose="cancellation.agent.id_number")
    altered = stored[:-6] + ("AAAA==" if not stored.endswith("AAAA==") else "BBBB==")
    with pytest.raises(UnreadableValue):
        decrypt_value(altered, purpose="filing.buyerparty.id_number")


@pytest.mark.django_db
def test_the_database_holds_the_number_encrypted_with_its_digest_and_refuses_to_filter_by_it() -> None:
    buyer = contract_with_buyers(1).buyers.get()
    number = buyer.id_number
    stored = raw_column(buyer)
    assert number not in stored and stored_key_id(stored) == key_ring().current.key_id
    assert BuyerParty.objects.get(pk=buyer.pk).id_number == number
    assert buyer.id_number_digest == value_digest(number, kind="id_number")
    assert BuyerParty.objects.get(id_number_digest=value_digest(number, kind="id_number")) == buyer
    with pytest.raises(FieldError, match="filter by its digest"):
        BuyerParty.objects.filter(id_number=number).exists()


@pytest.mark.django_db
def test_the_data_migration_encrypts_plaintext_left_from_before() -> None:
    buyer = contract_with_buyers(1).buyers.get()
    number = buyer.id_number
    BuyerParty.objects.filter(pk=buyer.pk).update(
        id_number=Value(number, output_field=TextField()), id_number_digest=""
    )
    assert raw_column(buyer) == number
    assert BuyerParty.objects.get(pk=buyer.pk).id_number == number, "plaintext reads as itself meanwhile"

    encrypt_existing("filing", "buyerparty")(apps, None)
    encrypt_existing("filing", "buyerparty")(apps, None)  # a second run changes nothing
    assert number not in raw_column(buyer)
    buyer.refresh_from_db()
    assert buyer.id_number == number and buyer.id_number_digest == value_digest(number, kind="id_number")


@pytest.mark.django_db
def test_what_a_document_check_read_is_kept_encrypted_whole() -> None:
    details = {"expected_number": "110101199003077777", "fields": {"number": "110101199003077777", "name": "张三"}}
    check = IdentityCheck.objects.create(
        case_ref="c", party=1, kind=CheckKind.DOCUMENT, provider="null", details=details, started_at=timezone.now()
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM identity_identitycheck WHERE id = %s", [check.pk.hex])
        row = cursor.fetchone()
    assert row is not None and "110101199003077777" not in str(row[0]) and stored_key_id(str(row[0]))
    assert IdentityCheck.objects.get(pk=check.pk).details == details
    IdentityCheck.objects.filter(pk=check.pk).update(details=Value(json.dumps(details), output_field=TextField()))
    encrypt_existing("identity", "identitycheck")(apps, None)
    assert IdentityCheck.objects.get(pk=check.pk).details == details
