"""Shared model bases."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Entity(models.Model):
    """Opaque, unguessable primary keys and creation/update times on every business row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class RateLimitCounter(models.Model):
    """The database store of ``core.ratelimit``: one open window per key (times in Unix seconds)."""

    key = models.CharField(max_length=200, unique=True)
    window_start = models.FloatField()
    expires_at = models.FloatField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("限流计数")
        verbose_name_plural = _("限流计数")

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
