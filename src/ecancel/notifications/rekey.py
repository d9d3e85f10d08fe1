"""Sealed contacts and delivery payloads moved to the key ring's current key (run by ``ecancel rotate_keys``)."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from django.db import transaction

from ecancel.core.keyring import KeyNotInRing, key_ring
from ecancel.notifications.contacts import SEAL_PREFIX, seal, unseal
from ecancel.notifications.models import Delivery, Subscription

SEALED = ((Subscription, "contact_sealed", "subscription"), (Delivery, "payload_sealed", "delivery"))


def sealed_reseal(*, batch: int = 500) -> tuple[int, list[str]]:
    """Re-seal every value not under the current key; how many, and the rows whose value would not open.

    A row is written only if its sealed value is still the one read, one short transaction per batch: a run
    stopped half-way is simply run again.
    """
    changed, unreadable = 0, []
    current = f"{SEAL_PREFIX}{key_ring().current.key_id}:"
    for model, field, bound in SEALED:
        stale = model.objects.exclude(**{f"{field}__startswith": current}).exclude(**{field: ""}).order_by("pk")
        last_pk = None
        while True:
            page = stale.filter(pk__gt=last_pk) if last_pk is not None else stale
            rows = list(page.values_list("pk", field)[:batch])
            if not rows:
                break
            with transaction.atomic():
                for pk, sealed in rows:
                    try:
                        value = unseal(sealed, bound_to=f"{bound}:{pk}")
                    except (ValueError, InvalidTag, KeyNotInRing):
                        unreadable.append(f"{model._meta.label} {field} of {pk}")
                        continue
                    fresh = seal(value, bound_to=f"{bound}:{pk}")
                    changed += model.objects.filter(pk=pk, **{field: sealed}).update(**{field: fresh})
            last_pk = rows[-1][0]
    return changed, unreadable
