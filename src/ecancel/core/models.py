"""Shared model bases."""

from __future__ import annotations

import uuid

from django.db import models


class Entity(models.Model):
    """Opaque, unguessable primary keys and creation/update times on every business row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
