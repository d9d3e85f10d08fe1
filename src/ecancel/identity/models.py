"""Identity checks as records: who was checked (a subject: case reference + party position), with
what, by which provider and model, the scores, threshold, decision and reasons, the timings, and the
SHA-256 of every evidence file used. The files themselves are in the encrypted evidence store."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.encrypted import EncryptedJSONField
from ecancel.core.models import Entity
from ecancel.identity.transitions import CheckStatus


class CheckKind(models.TextChoices):
    FACE = "face", _("人脸核验")
    DOCUMENT = "document", _("证件识别")
    VIDEO = "video", _("视频核验")


class IdentityCheck(Entity):
    """One check of one subject; started with a server-issued challenge, decided in the worker."""

    case_ref = models.CharField(max_length=64, db_index=True)
    party = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=CheckKind.choices)
    status = models.CharField(max_length=16, choices=CheckStatus.choices, default=CheckStatus.STARTED)
    provider = models.CharField(max_length=200)
    model = models.CharField(max_length=300, blank=True)
    model_version = models.CharField(max_length=300, blank=True)
    # The challenge: a liveness action and nonce, the text to read aloud, a hosted flow's URL and token.
    action = models.CharField(max_length=16, blank=True)
    nonce = models.CharField(max_length=64, blank=True)
    challenge_text = models.CharField(max_length=200, blank=True)
    redirect_url = models.URLField(max_length=2000, blank=True)
    external_ref = models.CharField(max_length=200, blank=True)
    document_kind = models.CharField(max_length=40, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The judgement.
    scores = models.JSONField(default=dict, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    # What was read off a document and the ID number it was expected to carry: personal data, kept encrypted.
    details = EncryptedJSONField(default=dict, blank=True)
    flagged = models.BooleanField(default=False)  # something a notary must look at (e.g. a reused video)
    retryable_error = models.CharField(max_length=60, blank=True)  # the last provider hiccup, if any
    # Timings.
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)  # the provider's work alone

    class Meta:
        indexes = [models.Index(fields=["case_ref", "party", "kind", "started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.case_ref}#{self.party} {self.status}"


class EvidenceRole(models.TextChoices):
    CAPTURE = "capture", _("现场采集")
    REFERENCE = "reference", _("证件人像")
    PREVIOUS = "previous", _("此前采集")
    DOCUMENT = "document", _("证件照片")
    VIDEO = "video", _("视频")
    PORTRAIT = "portrait", _("截取的人像")


class CheckEvidence(models.Model):
    """A file a check used, by its SHA-256 (replays and reused videos are found by it)."""

    check_run = models.ForeignKey(IdentityCheck, on_delete=models.PROTECT, related_name="evidence")
    role = models.CharField(max_length=16, choices=EvidenceRole.choices)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField()
    stored_name = models.CharField(max_length=200, blank=True)  # in identity.evidence; empty if not kept
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the file was deleted at the end of its retention period (the name is emptied with it).
    purged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.role} {self.sha256[:12]}"


class ReviewReason(models.TextChoices):
    FACE_ATTEMPTS_EXHAUSTED = "face_attempts_exhausted", _("人脸核验失败次数过多")
    FACE_PROCESSING_REFUSED = "face_processing_refused", _("本人拒绝人脸识别，改为证件加视频核验")


class ManualReview(Entity):
    """A subject the notary checks by hand instead of (or after) the automatic face check."""

    case_ref = models.CharField(max_length=64, db_index=True)
    party = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=40, choices=ReviewReason.choices)
    failed_checks = models.PositiveSmallIntegerField(default=0)
    routed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case_ref", "party", "reason"], name="identity_review_once_per_reason")
        ]

    def __str__(self) -> str:
        return f"{self.case_ref}#{self.party} {self.reason}"
