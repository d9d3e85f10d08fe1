"""Buyers' subscriptions, in-app notifications, messages to external channels, one-time codes.

A recipient is a key the calling module chooses (a notary case party's id); a topic is what the message is
about (a case reference). Phone numbers and openids are only ever stored sealed, masked or as keyed digests.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ecancel.core.models import Entity
from ecancel.notifications.events import render
from ecancel.notifications.transitions import DeliveryStatus


class ChannelKind(models.TextChoices):
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信订阅消息")


class CodePurpose(models.TextChoices):
    BUYER_LOGIN = "buyer_login", _("登录「我的」")


class Subscription(Entity):
    """One recipient's wish to hear about one topic on the external channels chosen (in-app is always on)."""

    recipient = models.CharField(_("接收人"), max_length=100)
    topic = models.CharField(_("订阅主题"), max_length=100)
    sms = models.BooleanField(_("短信"), default=False)
    wechat = models.BooleanField(_("微信订阅消息"), default=False)
    language = models.CharField(_("语言"), max_length=10, choices=settings.LANGUAGES)
    contact_sealed = models.TextField(blank=True, editable=False)  # {"phone": …, "wechat_openid": …}
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("手机号码"), max_length=24, blank=True)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("消息订阅")
        verbose_name_plural = _("消息订阅")
        constraints = [models.UniqueConstraint(fields=["recipient", "topic"], name="subscription_once_per_topic")]

    def __str__(self) -> str:
        return f"{self.recipient} / {self.topic}"

    @property
    def channels(self) -> list[str]:
        return [kind for kind, on in ((ChannelKind.SMS, self.sms), (ChannelKind.WECHAT, self.wechat)) if on]


class Notification(Entity):
    """An in-app message, shown on the recipient's 我的 page; one per recipient and dedupe key."""

    recipient = models.CharField(_("接收人"), max_length=100)
    topic = models.CharField(_("订阅主题"), max_length=100)
    event = models.CharField(_("事件"), max_length=40)
    dedupe_key = models.CharField(max_length=200)
    title_msgid = models.TextField()
    body_msgid = models.TextField()
    params = models.JSONField(default=dict)
    language = models.CharField(_("语言"), max_length=10, choices=settings.LANGUAGES)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once_per_key")]
        indexes = [models.Index(fields=["recipient", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.event}"

    def rendered(self, language: str | None = None) -> tuple[str, str]:
        """Title and body in ``language`` (default: the language active now), from the kept msgids."""
        return render(
            self.event, self.title_msgid, self.body_msgid, self.params, language or translation.get_language()
        )

    @property
    def display_title(self) -> str:
        return self.rendered()[0]

    @property
    def display_body(self) -> str:
        return self.rendered()[1]


class OneTimeCode(Entity):
    """A 6-digit code sent by SMS; only a keyed digest is kept. Closed when used, replaced or tried too often."""

    phone_digest = models.CharField(max_length=64, editable=False)
    phone_masked = models.CharField(_("手机号码"), max_length=24)
    purpose = models.CharField(_("用途"), max_length=20, choices=CodePurpose.choices)
    code_digest = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField(_("有效期至"))
    failed_attempts = models.PositiveSmallIntegerField(_("错误次数"), default=0)
    closed_at = models.DateTimeField(_("失效时间"), null=True, blank=True)
    closed_reason = models.CharField(_("失效原因"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("一次性验证码")
        verbose_name_plural = _("一次性验证码")
        indexes = [models.Index(fields=["phone_digest", "purpose", "-created_at"], name="one_time_code_latest")]

    def __str__(self) -> str:
        return f"{self.phone_masked} ({self.purpose})"


class Delivery(Entity):
    """One message to one external channel. Its address and parameters are sealed and wiped once it is final."""

    kind = models.CharField(_("渠道"), max_length=10, choices=ChannelKind.choices)
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    one_time_code = models.ForeignKey(
        OneTimeCode, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    recipient = models.CharField(_("接收人"), max_length=100, blank=True)
    topic = models.CharField(_("订阅主题"), max_length=100, blank=True)
    event = models.CharField(_("事件"), max_length=40)
    language = models.CharField(_("语言"), max_length=10, choices=settings.LANGUAGES)
    payload_sealed = models.TextField(blank=True, editable=False)  # {"address": …, "params": {…}}
    address_masked = models.CharField(_("发送地址"), max_length=70)
    status = models.CharField(_("状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"))
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    expires_at = models.DateTimeField(_("过期不发"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    gateway_reference = models.CharField(_("网关消息编号"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("外部渠道消息")
        verbose_name_plural = _("外部渠道消息")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "kind"],
                condition=models.Q(notification__isnull=False),
                name="delivery_once_per_channel",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event} → {self.address_masked}"
