"""The buyers' way into a notary case: the hand-off token behind the QR code."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.models import Entity


class InvalidationReason(models.TextChoices):
    REVOKED = "revoked", _("申请已撤销")
    SUPERSEDED = "superseded", _("已有更新的二维码")
    CLOSED = "closed", _("案件已结束")


class HandoffToken(Entity):
    """Bound to one case; only the SHA-256 of the opaque token is kept, so a database leak opens nothing."""

    case = models.ForeignKey("notary.NotaryCase", on_delete=models.CASCADE, related_name="handoff_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("有效期至"))
    invalidated_at = models.DateTimeField(_("失效时间"), null=True, blank=True)
    invalidated_reason = models.CharField(_("失效原因"), max_length=20, choices=InvalidationReason.choices, blank=True)

    class Meta:
        verbose_name = _("二维码令牌")
        verbose_name_plural = _("二维码令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.case} ({self.token_hash[:8]}…)"
