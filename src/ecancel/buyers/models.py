"""The buyers' way into a notary case: the hand-off token behind the QR code."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.buyers.transitions import JourneyStatus
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


class BuyerSession(Entity):
    """A phone's session on one case, made from a valid hand-off token; only the cookie value's SHA-256 is kept.

    ``device_hash`` is the SHA-256 of the phone's long-lived device cookie: a buyer's journey belongs to the
    device that chose it, so the same phone resumes it and another phone is refused.
    """

    case = models.ForeignKey("notary.NotaryCase", on_delete=models.CASCADE, related_name="buyer_sessions")
    cookie_hash = models.CharField(max_length=64, unique=True)
    device_hash = models.CharField(max_length=64, db_index=True)
    journey = models.ForeignKey(
        "buyers.Journey", on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions"
    )
    last_seen_at = models.DateTimeField(_("最近活动时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    # Not a column: for a status poll, the purpose polled and the journey's latest check of it, read in the same
    # statement as the session (``session_resume(poll=...)``).
    polled: tuple[str, JourneyCheck | None] | None = None

    class Meta:
        verbose_name = _("买受人会话")
        verbose_name_plural = _("买受人会话")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.case} ({self.cookie_hash[:8]}…)"


class JourneyPath(models.TextChoices):
    FACE = "face", _("人脸核验")
    DOCUMENT_VIDEO = "document_video", _("证件与视频核验")


class Journey(Entity):
    """One buyer's way through step 7 on the phone: who acts (the buyer, or their agent), on which device,
    which path, and how far they got. Every completed step is kept here or in the rows that point here."""

    case = models.ForeignKey("notary.NotaryCase", on_delete=models.CASCADE, related_name="journeys")
    buyer = models.OneToOneField("notary.CaseParty", on_delete=models.PROTECT, related_name="journey")
    actor = models.ForeignKey("notary.CaseParty", on_delete=models.PROTECT, related_name="+")
    device_hash = models.CharField(max_length=64)
    status = models.CharField(
        _("状态"), max_length=16, choices=JourneyStatus.choices, default=JourneyStatus.NOT_STARTED
    )
    path = models.CharField(_("核验方式"), max_length=20, choices=JourneyPath.choices)
    document_kind = models.CharField(_("证件类型"), max_length=40, blank=True)
    step = models.CharField(_("当前步骤"), max_length=20)
    agreed_at = models.DateTimeField(_("同意继续时间"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("买受人办理进度")
        verbose_name_plural = _("买受人办理进度")
        ordering = ["case", "buyer__position"]

    def __str__(self) -> str:
        return f"{self.case} #{self.buyer.position} {self.step}"


class Recorded(Entity):
    """What every evidence row carries: when, and from which address and browser."""

    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        abstract = True


class ConsentKind(models.TextChoices):
    FACE_PROCESSING = "face_processing", _("人脸信息处理")
    TRANSFER_TO_NOTARY = "transfer_to_notary", _("向公证处提供个人信息")


class Consent(Recorded):
    """A consent given or refused, with the version and the SHA-256 of the text the buyer was shown."""

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=32, choices=ConsentKind.choices)
    version = models.CharField(max_length=20)
    text_sha256 = models.CharField(max_length=64)
    given = models.BooleanField()

    class Meta:
        ordering = ["at"]


class DocumentOpening(Recorded):
    """The buyer opened one of the four documents (the file's SHA-256 as served)."""

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="openings")
    document = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["at"]


class UploadSlot(models.TextChoices):
    DOCUMENT_FRONT = "document_front", _("证件正面（人像面）")
    DOCUMENT_BACK = "document_back", _("证件背面")
    HOLDING = "holding", _("手持证件照片")
    SIGNATURE = "signature", _("电子签名")


class JourneyUpload(Recorded):
    """A file the buyer uploaded, kept encrypted in the identity evidence store; the latest per slot counts."""

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="uploads")
    slot = models.CharField(max_length=20, choices=UploadSlot.choices)
    media_type = models.CharField(max_length=40)
    sha256 = models.CharField(max_length=64, db_index=True)  # the notary's review looks for files used twice
    size = models.PositiveBigIntegerField()
    stored_name = models.CharField(max_length=200, blank=True)  # emptied when the file is purged
    # Set when the file was deleted at the end of its retention period (notary.services.retention).
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at"]


class CheckPurpose(models.TextChoices):
    FACE = "face", _("人脸核验")
    FACE_AGAIN = "face_again", _("再次人脸核验")
    DOCUMENT_READ = "document_read", _("证件识别")
    VIDEO = "video", _("视频核验")
    FINAL_DOCUMENT = "final_document", _("提交时再次核验证件")


class JourneyCheck(Recorded):
    """An identity check the journey started, for which purpose, from which address and browser."""

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="checks")
    purpose = models.CharField(max_length=20, choices=CheckPurpose.choices)
    check_run = models.ForeignKey("identity.IdentityCheck", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at"]


class Manifest(Entity):
    """The evidence of one buyer: canonical JSON fixed at submission, then sealed by the worker after commit with
    a detached CMS signature by the notary office. ``sealed_at`` is empty (and ``signature`` too) until then."""

    journey = models.OneToOneField(Journey, on_delete=models.PROTECT, related_name="manifest")
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    signature = models.BinaryField(default=b"", blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    @property
    def sealed(self) -> bool:
        return self.sealed_at is not None

    def __str__(self) -> str:
        return f"{self.journey} {self.sha256[:12]}"
