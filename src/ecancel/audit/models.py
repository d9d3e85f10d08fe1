"""One append-only, hash-chained table of everything that happened."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Each row stores SHA-256 over its own content and the previous row's hash.

    A row is written unchained (``seq``, ``prev_hash`` and ``row_hash`` empty) in the caller's transaction and
    chained right after that transaction commits (``audit_chain_extend``), so no writer waits on the chain.
    """

    seq = models.BigIntegerField(unique=True, null=True, blank=True)
    occurred_at = models.DateTimeField()
    tag = models.CharField(max_length=120, db_index=True)
    result = models.CharField(max_length=20, default="ok")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    row_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"]),
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_event_unchained"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq or '…'} {self.tag}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")


class AuditChainHead(models.Model):
    """The chain's last position and hash: a single row, locked only by the short step that chains new rows."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    row_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
