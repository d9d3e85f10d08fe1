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
    """What every encrypted field shares: its purpose (bound into each value) and no look-ups but ``isnull``."""

    name: str
    model: type[Model]

    @property
    def purpose(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

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
        current = f"{PREFIX}{key_ring().current.key_id}:"
        stored = Cast(field.name, output_field=models.TextField())
        stale = (
            model._default_manager.alias(stored=stored)
            .exclude(stored__startswith=current)
            .exclude(stored="")
            .exclude(stored__isnull=True)
        )
        last_pk = None
        while True:
            page = stale.filter(pk__gt=last_pk) if last_pk is not None else stale
            rows = list(page.annotate(raw=stored).order_by("pk").values_list("pk", "raw")[:batch])
            if not rows:
                break
            with transaction.atomic(using=router.db_for_write(model)):
                for pk, raw in rows:
                    try:
                        plain = raw if stored_key_id(raw) is None else decrypt_value(raw, purpose=field.purpose)
                    except UnreadableValue:
                        result.unreadable.append(f"{field.name} of {pk}")
                        continue
                    values = {field.name: encrypt_value(plain, purpose=field.purpose)}
                    if digest is not None:
                        values[digest.name] = value_digest(plain, kind=digest.kind)
                    row = model._default_manager.alias(stored=stored).filter(pk=pk, stored=raw)
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
            stored = Cast(field.name, output_field=models.TextField())
            rows = model._default_manager.annotate(raw=stored).filter(raw__startswith=PREFIX)
            for pk, raw in rows.values_list("pk", "raw").iterator():
                plain = decrypt_value(raw, purpose=field.purpose)
                model._default_manager.filter(pk=pk).update(
                    **{field.name: Value(plain, output_field=models.TextField())}
                )

    return run
