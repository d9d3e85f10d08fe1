"""A recipient subscribes to a topic's status changes on the external channels they choose."""

from __future__ import annotations

from collections.abc import Collection

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import NotFound, field_error
from ecancel.notifications.contacts import (
    check_openid,
    mask_address,
    normalise_phone,
    phone_digest,
    seal,
)
from ecancel.notifications.models import ChannelKind, Subscription
from ecancel.notifications.services.common import audit_label, checked_key, checked_language


def _locked(recipient: str, topic: str) -> Subscription:
    subscription = Subscription.objects.select_for_update().filter(recipient=recipient, topic=topic).first()
    if subscription is not None:
        return subscription
    try:
        with transaction.atomic():
            return Subscription.objects.create(recipient=recipient, topic=topic, active=False)
    except IntegrityError:  # subscribed twice at once: the other request's row is this one
        return Subscription.objects.select_for_update().get(recipient=recipient, topic=topic)


@transaction.atomic
def subscription_set(
    *,
    recipient: str,
    topic: str,
    channels: Collection[str],
    phone: str = "",
    wechat_openid: str = "",
    language: str = "",
    ctx: RequestContext,
) -> Subscription:
    """Subscribe (or change a subscription) to ``topic``; in-app messages need no subscription and are always on.

    ``channels`` is a subset of ``{"sms", "wechat"}``; SMS needs ``phone``, WeChat ``wechat_openid``. A phone
    number given without choosing SMS is still kept (sealed), so the buyer can find the case again by number.
    The contacts given replace the earlier ones: a number left out is forgotten.
    """
    recipient, topic = checked_key(recipient, "recipient"), checked_key(topic, "topic")
    chosen = set(channels)
    if not chosen <= set(ChannelKind.values):
        raise field_error("channels", _("不支持的通知渠道"))
    if ChannelKind.SMS in chosen and not phone:
        raise field_error("phone", _("选择短信通知时须填写手机号码"))
    if ChannelKind.WECHAT in chosen and not wechat_openid:
        raise field_error("wechat_openid", _("选择微信通知时须先授权微信"))
    contact = {}
    if phone:
        contact["phone"] = normalise_phone(phone)
    if wechat_openid:
        contact["wechat_openid"] = check_openid(wechat_openid)
    language = checked_language(language)

    subscription = _locked(recipient, topic)
    subscription.sms = ChannelKind.SMS in chosen
    subscription.wechat = ChannelKind.WECHAT in chosen
    subscription.language = language
    subscription.active = True
    subscription.contact_sealed = seal(contact, bound_to=f"subscription:{subscription.pk}") if contact else ""
    subscription.phone_digest = phone_digest(contact["phone"]) if phone else ""
    subscription.phone_masked = mask_address("sms", contact["phone"]) if phone else ""
    subscription.save(
        update_fields=[
            "sms",
            "wechat",
            "language",
            "active",
            "contact_sealed",
            "phone_digest",
            "phone_masked",
            "updated_at",
        ]
    )
    record_event(
        "notifications.subscription.set",
        obj=subscription,
        ctx=ctx,
        actor_label=audit_label(recipient),
        data={
            "topic": topic,
            "channels": subscription.channels,
            "phone": subscription.phone_masked,
            "wechat_openid": bool(wechat_openid),
            "language": language,
        },
    )
    return subscription


@transaction.atomic
def subscription_cancel(*, recipient: str, topic: str, ctx: RequestContext) -> Subscription:
    """Stop external messages about ``topic`` and forget the contact details; in-app messages stay."""
    subscription = Subscription.objects.select_for_update().filter(recipient=recipient, topic=topic).first()
    if subscription is None or not subscription.active:
        raise NotFound(_("未找到该订阅"))
    subscription.active = subscription.sms = subscription.wechat = False
    subscription.contact_sealed = subscription.phone_digest = subscription.phone_masked = ""
    subscription.save(
        update_fields=["active", "sms", "wechat", "contact_sealed", "phone_digest", "phone_masked", "updated_at"]
    )
    record_event(
        "notifications.subscription.cancelled",
        obj=subscription,
        ctx=ctx,
        actor_label=audit_label(recipient),
        data={"topic": topic},
    )
    return subscription
