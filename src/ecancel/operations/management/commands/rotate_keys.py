"""``ecancel rotate_keys``: bring everything encrypted under the key ring to its current key.

Re-encrypts the encrypted database fields (ID numbers, identity checks' details) and the sealed contacts of
notifications row by row, the identity evidence files and the stored files of every FileField kept encrypted
(documents, certificates, received materials, powers of attorney, seller papers) one by one, each only if it is
not yet under the current key; stored files written before files were encrypted are sealed on the way. The
command can be stopped at any point and run again: what it finished stays done, what it had not reached is still
readable as before. Remove an old key from the ring only once a run has reported nothing left under it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecancel.core.encrypted import encrypted_fields, rekey_rows
from ecancel.core.keyring import add_local_key, key_ring
from ecancel.core.storage import EncryptedStorage, StoredFileUnreadable
from ecancel.identity.evidence import EvidenceUnreadable, evidence_key_id, evidence_names, evidence_rekey
from ecancel.notifications.contacts import sealed_key_id
from ecancel.notifications.rekey import SEALED, sealed_reseal


class Command(BaseCommand):
    help = "Re-encrypt ID numbers, identity evidence and stored files under the key ring's current key (resumable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="first add a new current key to the ring on local disk (the embedded default only; a ring from "
            "ECANCEL_KEY_RING gets its new key there)",
        )
        parser.add_argument("--dry-run", action="store_true", help="only count what is not under the current key")

    def handle(self, *args: Any, new_key: bool = False, dry_run: bool = False, **options: Any) -> None:
        if new_key:
            try:
                added = add_local_key()
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"new current key {added.key_id}")
        current = key_ring().current.key_id
        self.stdout.write(f"current key {current}")
        if dry_run:
            self._count(current)
            return
        failed: list[str] = []
        for model in apps.get_models():
            if encrypted_fields(model):
                rekeyed = rekey_rows(model)
                self.stdout.write(f"{model._meta.label}: {rekeyed.changed} rows re-encrypted")
                failed += [f"{model._meta.label} {where}" for where in rekeyed.unreadable]
        resealed, unreadable = sealed_reseal()
        self.stdout.write(f"sealed contacts and delivery payloads: {resealed} re-sealed")
        failed += unreadable
        done = 0
        for name in evidence_names():
            try:
                done += evidence_rekey(name)
            except EvidenceUnreadable as exc:
                failed.append(f"{name} ({exc.code})")
        self.stdout.write(f"evidence files: {done} re-encrypted")
        sealed = Counter[str]()
        for label, storage, name in stored_files():
            try:
                sealed[label] += storage.rekey(name)
            except StoredFileUnreadable as exc:
                failed.append(f"{name} ({exc.code})")
        for label, count in sorted(sealed.items()):
            self.stdout.write(f"{label} files: {count} re-encrypted")
        if failed:
            raise CommandError(
                f"{len(failed)} values or files could not be re-encrypted (under a key missing from the ring, or "
                "damaged); the rest was: " + ", ".join(failed)
            )

    def _count(self, current: str) -> None:
        for model in apps.get_models():
            for field, _digest in encrypted_fields(model):
                stored = model._default_manager.annotate(stored_form=field.stored()).exclude(stored_form__isnull=True)
                keys = Counter(
                    field.stored_key_id(raw) or "plaintext"
                    for raw in stored.values_list("stored_form", flat=True)
                    if raw
                )
                self.stdout.write(f"{model._meta.label}.{field.name}: {dict(keys) or 'empty'}")
        for sealed_model, column, _bound in SEALED:
            sealed = sealed_model._default_manager.exclude(**{column: ""}).values_list(column, flat=True)
            by_key = Counter(sealed_key_id(value) or "before the ring" for value in sealed)
            self.stdout.write(f"{sealed_model._meta.label}.{column}: {dict(by_key) or 'empty'}")
        files = Counter(evidence_key_id(name) or "unreadable" for name in evidence_names())
        self.stdout.write(f"evidence files by key: {dict(files) or 'none'} (current {current})")
        by_field: dict[str, Counter[str]] = {}
        for label, storage, name in stored_files():
            by_field.setdefault(label, Counter())[storage.key_id(name) or "plaintext"] += 1
        for label, keys in sorted(by_field.items()):
            self.stdout.write(f"{label} files by key: {dict(keys)}")


def stored_files() -> Iterator[tuple[str, EncryptedStorage, str]]:
    """Every file a row names in a FileField kept encrypted, as (``app.Model.field``, storage, name); a name whose
    file is gone (a purged document) is passed over."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            storage = getattr(field, "storage", None)
            if not isinstance(storage, EncryptedStorage):
                continue
            label = f"{model._meta.label}.{field.name}"
            names = model._default_manager.exclude(**{field.name: ""}).order_by("pk").values_list(field.name, flat=True)
            for name in names.iterator(chunk_size=500):
                if name and storage.exists(name):
                    yield label, storage, name
