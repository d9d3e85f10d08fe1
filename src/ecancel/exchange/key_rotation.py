"""Rotating a hosted organisation's exchange signing key with an overlap the peers are told about.

``exchange_key_rotate`` makes a new key (the backend keeps the old one signing beside it until the overlap ends)
and announces the new public key to every peer that checks this organisation's signatures with Ed25519. The
announcement travels like any message, signed by both keys, so a peer that still knows only the old key accepts
it; ``on_exchange_key_announced`` then pins the new key and keeps the old one until the overlap ends. Run again
during an overlap, it makes no second key: it announces the current one again (a peer that has it already ignores
it), which finishes a rotation whose process died before its announcements were queued.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation, User
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, ValidationFailed
from ecancel.exchange import keys
from ecancel.exchange.handlers import ReceivedMessage
from ecancel.exchange.messages import ExchangeKeyAnnounced
from ecancel.exchange.models import Peer, Signing
from ecancel.exchange.routing import is_hosted


def announcement_payload(sender_id: object, public_key: str, previous_public_key: str, until: datetime) -> bytes:
    return f"ecancel exchange key|{sender_id}|{public_key}|{previous_public_key}|{until.isoformat()}".encode()


def exchange_key_rotate(
    *, organisation: Organisation, actor: User | None, ctx: RequestContext, now: datetime | None = None
) -> tuple[str, int]:
    """Rotate (or, during an overlap, re-announce) the organisation's key; the new public key and the peers told."""
    if not is_hosted(organisation):
        raise ValidationFailed(
            _("「%(organisation_name)s」不由本系统托管，不能更换其密钥"),
            params={"organisation_name": organisation.name},
        )
    now = now or timezone.now()
    backend = keys.exchange_keys()
    retiring = backend.retiring(organisation.pk)
    if retiring is not None and now < retiring.until:
        new, old, until = backend.current(organisation.pk), retiring.key, retiring.until
    else:
        old, until = backend.current(organisation.pk), now + settings.ECANCEL_EXCHANGE_KEY_OVERLAP
        new = backend.rotate(organisation.pk, overlap_until=until)
    public_key, previous = keys.public_key_b64_of(new), keys.public_key_b64_of(old)
    return public_key, _announce(organisation, new, public_key, previous, until, actor=actor, ctx=ctx)


@transaction.atomic
def _announce(
    organisation: Organisation,
    new: Ed25519PrivateKey,
    public_key: str,
    previous: str,
    until: datetime,
    *,
    actor: User | None,
    ctx: RequestContext,
) -> int:
    from ecancel.exchange.services import outbox_put

    proof = base64.b64encode(new.sign(announcement_payload(organisation.pk, public_key, previous, until))).decode()
    body = ExchangeKeyAnnounced(public_key=public_key, previous_public_key=previous, overlap_until=until, proof=proof)
    peers = Peer.objects.filter(active=True, signing=Signing.ED25519).select_related("organisation")
    told = 0
    for peer in peers.order_by("organisation__name"):
        if peer.organisation_id != organisation.pk:
            outbox_put(sender=organisation, recipient=peer.organisation, body=body)
            told += 1
    record_event(
        "exchange.key.rotated",
        actor=actor,
        organisation=organisation,
        obj=organisation,
        ctx=ctx,
        data={
            "public_key": public_key,
            "previous_public_key": previous,
            "overlap_until": until.isoformat(),
            "peers": told,
        },
    )
    return told


def on_exchange_key_announced(message: ReceivedMessage) -> None:
    """Pin the sender's new key, keeping the one it replaces until the overlap ends; a repeat changes nothing."""
    body = message.parsed(ExchangeKeyAnnounced)
    peer = Peer.objects.select_for_update().filter(organisation=message.sender, active=True).first()
    if peer is None or peer.signing != Signing.ED25519:
        raise DomainError(text=_("本方未以 Ed25519 公钥核验该机构，不接受其密钥更换"), code="key_not_pinned")
    try:
        keys.load_public_key(body.public_key).verify(
            base64.b64decode(body.proof, validate=True),
            announcement_payload(message.sender.pk, body.public_key, body.previous_public_key, body.overlap_until),
        )
    except (ValueError, binascii.Error, InvalidSignature) as exc:
        raise DomainError(text=_("新密钥的持有证明无效"), code="bad_key_proof") from exc
    if peer.public_key == body.public_key:
        return
    # During an overlap the retiring key is still believed, and it may be the leaked one: no new key until it ends.
    if peer.previous_key_until is not None and message.received_at < peer.previous_key_until:
        raise DomainError(text=_("上一次密钥更换的过渡期尚未结束，不接受新的更换"), code="key_rotation_overlap")
    if peer.public_key != body.previous_public_key:
        raise DomainError(text=_("所更换的密钥不是本方登记的公钥"), code="key_not_pinned")
    latest = message.received_at + settings.ECANCEL_EXCHANGE_KEY_OVERLAP
    peer.previous_public_key, peer.public_key = peer.public_key, body.public_key
    peer.previous_key_until = min(body.overlap_until, latest)
    peer.save(update_fields=["previous_public_key", "public_key", "previous_key_until", "updated_at"])
    record_event(
        "exchange.peer.key_rotated",
        organisation=message.recipient,
        obj=peer,
        ctx=message.ctx,
        data={
            "sender": str(message.sender.pk),
            "public_key": body.public_key,
            "previous_public_key": body.previous_public_key,
            "previous_key_until": peer.previous_key_until.isoformat(),
        },
    )
