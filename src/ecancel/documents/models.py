"""Issued documents: stored once with their SHA-256, never changed; a correction is a new version."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.models import Entity
from ecancel.core.storage import encrypted_files


class DocumentKind(models.TextChoices):
    CANCELLATION_FORM = "cancellation_form", _("商品房买卖合同注销备案申请表")
    TERMINATION_AGREEMENT = "termination_agreement", _("商品房买卖合同终止协议")
    NOTARIZATION_APPLICATION = "notarization_application", _("终止协议公证申请表")
    NOTARIZATION_NOTICE = "notarization_notice", _("终止协议合同公证告知")
    INTAKE_RECORD = "intake_record", _("收案记录")
    CONTRACT = "contract", _("商品房买卖合同")
    CERTIFICATE = "certificate", _("公证书")


class SignatureLevel(models.TextChoices):
    B_T = "B-T", _("PAdES B-T（带时间戳）")
    B_LTA = "B-LTA", _("PAdES B-LTA（长期验证）")


class ImmutableDocument(Exception):
    """Raised on any attempt to change or delete a stored document."""


class StoredDocumentQuerySet(models.QuerySet["StoredDocument"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableDocument("stored documents cannot be changed; issue a new version")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableDocument("stored documents cannot be deleted")

    def for_subject(self, subject_ref: str) -> StoredDocumentQuerySet:
        return self.filter(subject_ref=subject_ref)

    def latest_versions(self) -> StoredDocumentQuerySet:
        """Only documents no later version replaces."""
        return self.filter(superseded_by__isnull=True)


# Issued documents' files, in folders by the UTC day they were written (``core.storage.dated_name``).
DOCUMENTS_FOLDER = "documents"


def document_path(instance: StoredDocument, filename: str) -> str:
    """Never used with a client's name: services choose the stored name before the row exists."""
    return f"{DOCUMENTS_FOLDER}/{filename}"


class StoredDocument(Entity):
    kind = models.CharField(_("文书类型"), max_length=40, choices=DocumentKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    version = models.PositiveIntegerField(_("版本"))
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("取代的版本"),
    )
    issuer = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="issued_documents", verbose_name=_("出具机构")
    )
    # "application:<uuid>" or "case:<uuid>": either side names its own subject without importing the other.
    subject_ref = models.CharField(_("所属事项"), max_length=100, db_index=True)
    reference_no = models.CharField(_("文书编号"), max_length=64, blank=True, db_index=True)
    verification_code = models.CharField(_("验证码"), max_length=16, unique=True)
    template = models.CharField(_("模板"), max_length=40)
    template_version = models.CharField(_("模板版本"), max_length=40)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    page_count = models.PositiveIntegerField(_("页数"))
    content = models.FileField(_("文件"), upload_to=document_path, max_length=200, storage=encrypted_files)
    signed = models.BooleanField(_("已签章"), default=False)
    signature_level = models.CharField(_("签名级别"), max_length=8, choices=SignatureLevel.choices, blank=True)
    # What the public /verify/ page may say about who the document concerns: names already masked.
    public_parties = models.JSONField(_("当事人（已遮蔽）"), default=list, blank=True)
    # Issued for ``ecancel selftest``'s case: the /verify/ page says it has no legal effect.
    self_test = models.BooleanField(_("系统自检文书"), default=False)

    objects: ClassVar[StoredDocumentQuerySet] = StoredDocumentQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("已出具文书")
        verbose_name_plural = _("已出具文书")
        ordering = ["subject_ref", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["subject_ref", "kind", "version"], name="document_version_once"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="document_version_positive"),
        ]

    def __str__(self) -> str:
        suffix = f" {self.reference_no}" if self.reference_no else ""
        return f"{self.title}{suffix}（第{self.version}版）"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableDocument(f"document {self.pk} is stored and cannot be changed; issue a new version")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableDocument(f"document {self.pk} cannot be deleted")

    @property
    def is_purged(self) -> bool:
        """Whether the file was deleted at the end of its retention period (load with ``select_related("purge")``)."""
        return hasattr(self, "purge")

    @property
    def download_name(self) -> str:
        """A file name for the browser: the title, the number if any, and the version."""
        parts = [self.title]
        if self.reference_no:
            parts.append(self.reference_no)
        parts.append(f"v{self.version}")
        cleaned = "-".join(parts)
        for bad in '/\\:*?"<>|\r\n\t':
            cleaned = cleaned.replace(bad, "_")
        return f"{cleaned}.pdf"


class DocumentPurge(models.Model):
    """A stored document whose file was deleted at the end of its retention period.

    The document's row stays as issued (its hash, number and verification code still say what it was): only the
    file is gone, and this row says when and under which deletion record.
    """

    document = models.OneToOneField(
        StoredDocument, on_delete=models.PROTECT, related_name="purge", verbose_name=_("文书")
    )
    purged_at = models.DateTimeField(_("删除时间"))
    record_ref = models.CharField(_("删除记录"), max_length=100)

    class Meta:
        verbose_name = _("已按保存期限删除的文书")
        verbose_name_plural = _("已按保存期限删除的文书")

    def __str__(self) -> str:
        return f"{self.document} {self.purged_at:%Y-%m-%d}"
