"""Other modules tell a recipient about an event, inside the transaction of the change they report."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import ValidationFailed
from ecancel.notifications.contacts import unseal
from ecancel.notifications.events import check_params, event_text, render
from ecancel.notifications.models import ChannelKind, Notification, Subscription
from ecancel.notifications.services.common import checked_key, checked_language
from ecancel.notifications.services.delivery import delivery_create, send_after_commit

DEDUPE_KEY_LENGTH = 200


def notify(
    *,
    recipient: str,
    topic: str,
    event: str,
    params: Mapping[str, object],
    dedupe_key: str,
    ctx: RequestContext,
    language: str = "",
) -> Notification:
    """Record the in-app notification and one delivery per external channel the recipient subscribed to.

    Runs in the caller's transaction: nothing is sent unless it commits, and sending starts after it does.
    ``dedupe_key`` names the change being reported (e.g. ``case:<id>:under_review``): a second call with the same
    key for the same recipient returns the first notification and creates and sends nothing. The language is
    ``language`` if given, else the subscription's, else the default; the text renders in it now and can be
    rendered again in another (``Notification.rendered``).
    """
    assert transaction.get_connection().in_atomic_block, "notify must run inside the caller's transaction"
    recipient, topic = checked_key(recipient, "recipient"), checked_key(topic, "topic")
    dedupe_key = checked_key(dedupe_key, "dedupe_key", length=DEDUPE_KEY_LENGTH)
    text = event_text(event)
    if not text.in_app:
        raise ValidationFailed(_("「%(event)s」不是站内通知"), params={"event": event})
    checked = check_params(text, params)
    existing = Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing

    subscription = Subscription.objects.filter(recipient=recipient, topic=topic, active=True).first()
    language = checked_language(language or (subscription.language if subscription else ""))
    title, body = render(event, text.title, text.body, checked, language)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                topic=topic,
                event=event,
                dedupe_key=dedupe_key,
                title_msgid=text.title,
                body_msgid=text.body,
                params=checked,
                language=language,
                title=title,
                body=body,
            )
    except IntegrityError:  # the same change reported twice at once: the first one stands
        return Notification.objects.get(recipient=recipient, dedupe_key=dedupe_key)

    deliveries = []
    if subscription is not None and subscription.channels:
        contact = unseal(subscription.contact_sealed, bound_to=f"subscription:{subscription.pk}")
        addresses = {ChannelKind.SMS: contact.get("phone"), ChannelKind.WECHAT: contact.get("wechat_openid")}
        now = timezone.now()
        for kind in subscription.channels:
            address = addresses[ChannelKind(kind)]
            if address:
                deliveries.append(
                    delivery_create(
                        kind=kind,
                        address=address,
                        event=event,
                        params=checked,
                        language=language,
                        notification=notification,
                        now=now,
                    )
                )
    record_event(
        "notifications.notification.created",
        obj=notification,
        ctx=ctx,
        data={"event": event, "topic": topic, "channels": [d.kind for d in deliveries]},
    )
    send_after_commit(deliveries)
    return notification
