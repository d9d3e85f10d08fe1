"""Peers, the outbox and the inbox: every message's raw bytes are kept on both sides."""

from __future__ import annotations

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ecancel.core.encrypted import EncryptedBinaryField
from ecancel.core.models import Entity
from ecancel.exchange.errors import delivery_failure_shown
from ecancel.exchange.transitions import InboxStatus, OutboxStatus


class Transport(models.TextChoices):
    IN_PROCESS = "in_process", _("本机直连")
    HTTP = "http", _("HTTP(S) 推送")


class Signing(models.TextChoices):
    ED25519 = "ed25519", _("Ed25519 签名")
    HMAC_SHA256 = "hmac_sha256", _("HMAC-SHA256 共享密钥")


class Peer(Entity):
    """How to reach an organisation and check what it signs.

    Without a row, an organisation hosted here is reached in-process and signs with its own
    Ed25519 key; an organisation hosted elsewhere needs a row (``ecancel exchange_peer``).
    An HMAC secret belongs to the link: both deployments set the same one on the other side's rows.
    ``document_signing_pins`` name the keys that may sign the documents it sends (``exchange.pins``).
    """

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="exchange_peer", verbose_name=_("机构")
    )
    transport = models.CharField(_("传输方式"), max_length=20, choices=Transport.choices)
    endpoint_url = models.URLField(_("接收地址"), max_length=500, blank=True)
    signing = models.CharField(_("签名方式"), max_length=20, choices=Signing.choices)
    public_key = models.CharField(_("Ed25519 公钥"), max_length=64, blank=True)
    # The key a rotation announced by the peer replaced: still accepted until previous_key_until.
    previous_public_key = models.CharField(_("上一把 Ed25519 公钥"), max_length=64, blank=True, editable=False)
    previous_key_until = models.DateTimeField(_("上一把公钥停用时间"), null=True, blank=True, editable=False)
    hmac_secret_sealed = models.TextField(_("共享密钥（加密保存）"), blank=True, editable=False)
    document_signing_pins = models.JSONField(
        _("文书签章证书公钥指纹"),
        default=list,
        blank=True,
        help_text=_("签章证书公钥（SubjectPublicKeyInfo）的 SHA-256；可登记多个，以便换用新密钥时新旧并存"),
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("对接机构")
        verbose_name_plural = _("对接机构")

    def __str__(self) -> str:
        return f"{self.organisation_id} via {self.transport}"


class OutboxMessage(Entity):
    """One message to send; ``id`` is the message id. Written in the transaction of the change it reports."""

    message_type = models.CharField(_("消息类型"), max_length=40)
    sender = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    stream = models.CharField(max_length=64, help_text=_("同一申请的消息按顺序送达"))
    raw = EncryptedBinaryField()  # the exact bytes signed: they name the parties with their ID numbers
    body_sha256 = models.CharField(max_length=64)
    status = models.CharField(_("状态"), max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"))
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    remote_status = models.CharField(_("对方处理结果"), max_length=20, blank=True)
    remote_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["sender", "recipient", "stream", "created_at"], name="outbox_stream"),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} {self.id}"

    @property
    def failure_shown(self) -> str:
        """The last failure for the page: a refusal's reason in the page's language, else the diagnostic."""
        return delivery_failure_shown(self.last_error)

    @property
    def remote_note_shown(self) -> str:
        """The peer's note travels as an English machine reason: shown on English pages only."""
        return self.remote_note if (translation.get_language() or "").startswith("en") else ""


class InboxMessage(Entity):
    """One received message; ``id`` is the sender's message id, so a second copy cannot be stored."""

    message_type = models.CharField(_("消息类型"), max_length=40)
    sender = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    stream = models.CharField(max_length=64, db_index=True, help_text=_("所属申请"))
    raw = EncryptedBinaryField()  # the exact bytes signed: they name the parties with their ID numbers
    raw_sha256 = models.CharField(max_length=64)
    signature = models.TextField()
    signed_at = models.DateTimeField()
    status = models.CharField(_("状态"), max_length=20, choices=InboxStatus.choices)
    reason = models.TextField(_("拒绝原因"), blank=True)
    reason_en = models.TextField(blank=True)

    class Meta:
        verbose_name = _("已收消息")
        verbose_name_plural = _("已收消息")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.message_type} {self.id}"


class PeerAuditCheckpoint(Entity):
    """A checkpoint of another deployment's audit chain, as it sent it: evidence held outside its database."""

    sender = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("发送机构")
    )
    message = models.OneToOneField(InboxMessage, on_delete=models.PROTECT, related_name="+")
    rows = models.BigIntegerField(_("条数"))
    head_hash = models.CharField(_("最后一条的摘要"), max_length=64)
    taken_at = models.DateTimeField(_("检查点时间"))
    public_key = models.CharField(_("签名公钥"), max_length=64)
    signature = models.CharField(_("签名"), max_length=128)
    timestamp_token = models.TextField(_("时间戳"), blank=True)

    class Meta:
        verbose_name = _("对方审计检查点")
        verbose_name_plural = _("对方审计检查点")
        indexes = [models.Index(fields=["sender", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.sender_id} #{self.rows}"
