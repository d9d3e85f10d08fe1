"""Fields kept encrypted in the database under the key ring, with a keyed digest beside them for look-ups.

A stored value is ``e1:<key id>:<Base64 of nonce + AES-256-GCM ciphertext>``; the field's purpose (its model and
name) and the key id are bound in as associated data, so a value copied into another field fails to open. The
database cannot compare ciphertexts (each has its own nonce), so the field answers no look-up but ``isnull``:
whatever finds or de-duplicates rows by the value goes through its digest field (``LookupDigestField``), which
``pre_save`` fills from the value. A ``QuerySet.update`` or ``save(update_fields=...)`` naming the value must name
the digest too.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import FieldError
from django.db import models, router, transaction
from django.db.models import Model, Value
from django.db.models.functions import Cast

from ecancel.core.keyring import KeyNotInRing, key_ring

PREFIX = "e1:"
NONCE_BYTES = 12
KEY_ID_CHARS = 16
# A 32-character value: prefix, key id, colon, Base64 of 12 + 32 + 16 bytes.
STORED_MAX_LENGTH = 120


class UnreadableValue(ValueError):
    """A stored value that does not open: altered, moved from another field, or under a key not in the ring."""


def encrypt_value(value: str, *, purpose: str) -> str:
    ring = key_ring()
    key = ring.current
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.subkey(key, "field")).encrypt(nonce, value.encode(), f"{purpose}|{key.key_id}".encode())
    return f"{PREFIX}{key.key_id}:{base64.b64encode(nonce + sealed).decode()}"


def stored_key_id(stored: str) -> str | None:
    """The key id a stored value was encrypted under; None for a plaintext left from before encryption."""
    if not stored.startswith(PREFIX):
        return None
    return stored[len(PREFIX) : len(PREFIX) + KEY_ID_CHARS]


def decrypt_value(stored: str, *, purpose: str) -> str:
    key_id = stored_key_id(stored)
    if key_id is None:
        raise UnreadableValue("not an encrypted value")
    ring = key_ring()
    try:
        key = ring.key(key_id)
    except KeyNotInRing as exc:
        raise UnreadableValue(f"encrypted under key {key_id}, which is not in the key ring") from exc
    try:
        blob = base64.b64decode(stored[len(PREFIX) + KEY_ID_CHARS + 1 :], validate=True)
        plain = AESGCM(ring.subkey(key, "field")).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], f"{purpose}|{key_id}".encode()
        )
    except (ValueError, InvalidTag) as exc:
        raise UnreadableValue(f"a value of {purpose} was altered or moved") from exc
    return plain.decode()


def value_digest(value: str, *, kind: str) -> str:
    """The digest a ``LookupDigestField`` of that kind holds for ``value``: use it to filter."""
    return key_ring().digest(kind, value)


class EncryptedField:
    """What every encrypted field shares: its purpose (bound into each value) and no look-ups but ``isnull``.

    The stored form (``stored``: the column as written, read without decrypting) is text for the text fields.
    """

    name: str
    model: type[Model]
    stored_output: type[models.Field] = models.TextField

    @property
    def purpose(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def stored(self) -> Cast:
        return Cast(self.name, output_field=self.stored_output())

    def stored_key_id(self, stored: Any) -> str | None:
        return stored_key_id(stored)

    def stored_plain(self, stored: Any) -> Any:
        """The plaintext, in the column's own form, of a stored value (encrypted or left from before)."""
        return stored if stored_key_id(stored) is None else decrypt_value(stored, purpose=self.purpose)

    def stored_encrypted(self, plain: Any) -> Any:
        return encrypt_value(plain, purpose=self.purpose)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(f"{self.name} is encrypted: filter by its digest field, not by __{lookup_name}")
        return super().get_lookup(lookup_name)  # type: ignore[misc]


class EncryptedCharField(EncryptedField, models.CharField):
    """Text kept encrypted; ``max_length`` bounds the plaintext, the column is wide enough for the ciphertext."""

    description = "Text encrypted under the key ring"

    def db_type(self, connection: Any) -> str | None:
        return models.CharField(max_length=STORED_MAX_LENGTH).db_type(connection)

    def cast_db_type(self, connection: Any) -> str | None:
        return self.db_type(connection)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or stored_key_id(value) is None:
            return value  # a plaintext left from before encryption reads as itself until migrated
        return decrypt_value(value, purpose=self.purpose)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is None or value == "" or stored_key_id(str(value)) is not None:
            return value
        return encrypt_value(str(value), purpose=self.purpose)


class EncryptedJSONField(EncryptedField, models.TextField):
    """A JSON document kept encrypted whole (it holds personal data, e.g. what was read off an ID card)."""

    description = "JSON encrypted under the key ring"
    _pyi_private_set_type: Any
    _pyi_private_get_type: dict[str, Any]  # type: ignore[assignment]

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        plain = value if stored_key_id(value) is None else decrypt_value(value, purpose=self.purpose)
        return json.loads(plain)

    def to_python(self, value: Any) -> Any:
        return value

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None or (isinstance(value, str) and stored_key_id(value) is not None):
            return value
        return encrypt_value(json.dumps(value, ensure_ascii=False, sort_keys=True), purpose=self.purpose)


BINARY_PREFIX = b"EB1"
BINARY_HEADER = len(BINARY_PREFIX) + KEY_ID_CHARS // 2 + NONCE_BYTES


class EncryptedBinaryField(EncryptedField, models.BinaryField):
    """Bytes kept encrypted (``EB1`` + 8-byte key id + nonce + ciphertext), given back exactly as written."""

    description = "Bytes encrypted under the key ring"
    stored_output = models.BinaryField

    def stored_key_id(self, stored: Any) -> str | None:
        data = bytes(stored)
        return data[len(BINARY_PREFIX) : BINARY_HEADER - NONCE_BYTES].hex() if data[:3] == BINARY_PREFIX else None

    def stored_plain(self, stored: Any) -> bytes:
        data = bytes(stored)
        key_id = self.stored_key_id(data)
        if key_id is None:
            return data
        ring = key_ring()
        try:
            key = ring.key(key_id)
            return AESGCM(ring.subkey(key, "field")).decrypt(
                data[BINARY_HEADER - NONCE_BYTES : BINARY_HEADER],
                data[BINARY_HEADER:],
                f"{self.purpose}|{key_id}".encode(),
            )
        except (KeyNotInRing, InvalidTag) as exc:
            raise UnreadableValue(f"a value of {self.purpose} does not open under the key ring") from exc

    def stored_encrypted(self, plain: Any) -> bytes:
        ring = key_ring()
        key = ring.current
        header = BINARY_PREFIX + bytes.fromhex(key.key_id) + os.urandom(NONCE_BYTES)
        sealed = AESGCM(ring.subkey(key, "field")).encrypt(
            header[-NONCE_BYTES:], bytes(plain), f"{self.purpose}|{key.key_id}".encode()
        )
        return header + sealed

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        return None if value is None else self.stored_plain(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if not (isinstance(value, bytes) and self.stored_key_id(value) is not None):
            value = self.stored_encrypted(value)
        return connection.Database.Binary(value)


class LookupDigestField(models.CharField):
    """The keyed digest of an encrypted field's value (``source``), filled on every save of the row."""

    description = "Keyed digest of an encrypted value"

    def __init__(self, *args: Any, source: str = "", kind: str = "", **kwargs: Any) -> None:
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"], kwargs["kind"] = self.source, self.kind
        for default in ("max_length", "editable", "blank", "db_index"):
            kwargs.pop(default, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: Model, add: bool) -> str:
        value = getattr(model_instance, self.source)
        digest = value_digest(value, kind=self.kind) if value else ""
        setattr(model_instance, self.attname, digest)
        return digest


def encrypted_fields(model: type[Model]) -> list[tuple[EncryptedField, LookupDigestField | None]]:
    """The model's encrypted fields, each with the digest field that follows it (if any)."""
    fields = model._meta.get_fields()
    digests = {f.source: f for f in fields if isinstance(f, LookupDigestField)}
    return [(f, digests.get(f.name)) for f in fields if isinstance(f, EncryptedField)]


@dataclass
class Rekeyed:
    changed: int = 0
    unreadable: list[str] = dc_field(default_factory=list)  # "<field> of <pk>": under a key not in the ring


def rekey_rows(model: type[Model], *, batch: int = 500) -> Rekeyed:
    """Re-encrypt the model's encrypted values not under the current key (plaintext included).

    Each row is written only if its stored value is still the one read (a row a request rewrote meanwhile is
    already under the current key), one short transaction per batch, so a run killed half-way is simply run again.
    A value that does not open is left as it is and named.
    """
    result = Rekeyed()
    for field, digest in encrypted_fields(model):
        current = key_ring().current.key_id
        stored = field.stored()
        candidates = model._default_manager.alias(stored_form=stored).exclude(stored_form__isnull=True)
        size = batch
        if isinstance(field, EncryptedBinaryField):  # messages of up to tens of megabytes: a few at a time
            candidates, size = candidates.exclude(stored_form=b""), min(batch, 10)
        else:
            candidates = candidates.exclude(stored_form__startswith=f"{PREFIX}{current}:").exclude(stored_form="")
        last_pk = None
        while True:
            page = candidates.filter(pk__gt=last_pk) if last_pk is not None else candidates
            rows = list(page.annotate(stored_form=stored).order_by("pk").values_list("pk", "stored_form")[:size])
            if not rows:
                break
            with transaction.atomic(using=router.db_for_write(model)):
                for pk, raw in rows:
                    if field.stored_key_id(raw) == current:
                        continue
                    try:
                        plain = field.stored_plain(raw)
                    except UnreadableValue:
                        result.unreadable.append(f"{field.name} of {pk}")
                        continue
                    values = {field.name: field.stored_encrypted(plain)}
                    if digest is not None:
                        values[digest.name] = value_digest(plain, kind=digest.kind)
                    row = model._default_manager.alias(stored_form=stored).filter(pk=pk, stored_form=raw)
                    result.changed += row.update(**values)
            last_pk = rows[-1][0]
    return result


def encrypt_existing(app_label: str, model_name: str) -> Any:
    """A data migration's step: encrypt the model's values still in plaintext and fill their digests."""

    def run(apps: Any, schema_editor: Any) -> None:
        rekey_rows(apps.get_model(app_label, model_name))

    return run


def decrypt_existing(app_label: str, model_name: str) -> Any:
    """The reverse of ``encrypt_existing``: values back in plaintext, for a schema that stores them so."""

    def run(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        for field, _digest in encrypted_fields(model):
            rows = model._default_manager.annotate(stored_form=field.stored()).exclude(stored_form__isnull=True)
            for pk, raw in rows.values_list("pk", "stored_form").iterator(chunk_size=10):
                if field.stored_key_id(raw) is not None:
                    plain = field.stored_plain(raw)
                    model._default_manager.filter(pk=pk).update(
                        **{field.name: Value(plain, output_field=field.stored_output())}
                    )

    return run
