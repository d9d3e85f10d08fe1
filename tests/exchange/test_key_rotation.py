"""Exchange signing keys: one contract for every key backend, and a rotation announced to the peer, who accepts
either key during the overlap and only the new one after it."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.utils import timezone
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.exchange import keys
from ecancel.exchange.envelope import body_digest, sign_ed25519, signature_headers
from ecancel.exchange.errors import ExchangeRefused
from ecancel.exchange.key_rotation import announcement_payload, exchange_key_rotate
from ecancel.exchange.models import InboxMessage, OutboxMessage, Peer, Transport
from ecancel.exchange.services import inbox_accept, peer_set
from ecancel.exchange.transitions import InboxStatus
from tests.exchange.conftest import put

BACKENDS = ["ecancel.exchange.keys.FileExchangeKeys", "ecancel.exchange.keys.MemoryExchangeKeys"]


def public(key: Ed25519PrivateKey) -> str:
    return keys.public_key_b64_of(key)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: object) -> Iterator[keys.ExchangeKeyBackend]:
    settings.ECANCEL_KEYS_DIR = tmp_path
    settings.ECANCEL_EXCHANGE_KEYS_BACKEND = request.param
    keys._backend.cache_clear()
    yield keys.exchange_keys()
    keys._backend.cache_clear()


def test_every_backend_keeps_one_key_per_organisation_and_rotates_with_an_overlap(
    backend: keys.ExchangeKeyBackend,
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert not backend.exists(first) and backend.retiring(first) is None
    key = backend.current(first)
    assert backend.exists(first) and public(backend.current(first)) == public(key)
    assert public(backend.current(second)) != public(key)
    assert backend.location(first)

    start = timezone.now()
    until = start + timedelta(days=7)
    new = backend.rotate(first, overlap_until=until)
    assert public(backend.current(first)) == public(new) != public(key)
    retiring = backend.retiring(first)
    assert retiring is not None and public(retiring.key) == public(key) and retiring.until == until
    assert [public(k) for k in keys.signing_keys(first, now=start)] == [public(new), public(key)]
    assert [public(k) for k in keys.signing_keys(first, now=until)] == [public(new)]
    assert public(backend.current(second)) != public(new), "the other organisation keeps its key"


@pytest.fixture
def linked(developer: Organisation, notary_office: Organisation) -> tuple[Organisation, Organisation]:
    """Each organisation checks the other by a pinned Ed25519 key, as two deployments would; the office sends."""
    for organisation in (developer, notary_office):
        peer_set(
            organisation=organisation,
            transport=Transport.IN_PROCESS,
            public_key=keys.public_key_b64(organisation.pk),
            actor=None,
            ctx=RequestContext.system(),
        )
    return notary_office, developer


def sent_at(row: OutboxMessage, at: datetime, *signers: Ed25519PrivateKey) -> tuple[bytes, dict[str, str]]:
    """The row signed at ``at`` by ``signers`` (default: as the relay signs it then)."""
    raw = bytes(row.raw)
    timestamp = int(at.timestamp())
    chosen = signers or tuple(keys.signing_keys(row.sender_id, now=at))
    signature = " ".join(sign_ed25519(key, row.pk, timestamp, raw) for key in chosen)
    return raw, signature_headers(row.pk, timestamp, signature)


@pytest.mark.django_db
def test_a_rotation_is_announced_and_the_peer_accepts_either_key_during_the_overlap_only(
    linked: tuple[Organisation, Organisation], settings: Settings
) -> None:
    sender, receiver = linked
    old = keys.private_key(sender.pk)
    start = timezone.now()
    before_announced = put(sender, receiver)

    new_public, told = exchange_key_rotate(organisation=sender, actor=None, ctx=RequestContext.system(), now=start)
    assert told == 1 and new_public != public(old)
    new = keys.private_key(sender.pk)
    announcement = OutboxMessage.objects.get(message_type="exchange.key.announced")
    assert announcement.recipient == receiver
    assert json.loads(bytes(announcement.raw))["body"]["previous_public_key"] == public(old)

    # The peer has not yet heard: both keys sign, so the old pin still recognises the message.
    inbox_accept(*sent_at(before_announced, start), now=start)
    inbox_accept(*sent_at(announcement, start), now=start)
    peer = Peer.objects.get(organisation=sender)
    until = start + settings.ECANCEL_EXCHANGE_KEY_OVERLAP
    assert (peer.public_key, peer.previous_public_key) == (new_public, public(old))
    assert peer.previous_key_until is not None and abs(peer.previous_key_until - until) < timedelta(seconds=1)
    assert AuditEvent.objects.filter(tag="exchange.peer.key_rotated").count() == 1

    # During the overlap either key alone is accepted.
    during = start + timedelta(days=1)
    inbox_accept(*sent_at(put(sender, receiver), during, old), now=during)
    inbox_accept(*sent_at(put(sender, receiver), during, new), now=during)
    # After it, only the new key; the sender no longer signs with the old one.
    after = until + timedelta(seconds=1)
    assert [public(k) for k in keys.signing_keys(sender.pk, now=after)] == [new_public]
    inbox_accept(*sent_at(put(sender, receiver), after), now=after)
    with pytest.raises(ExchangeRefused) as refused:
        inbox_accept(*sent_at(put(sender, receiver), after, old), now=after)
    assert refused.value.code == "bad_signature"
    assert InboxMessage.objects.filter(status=InboxStatus.APPLIED, message_type="exchange.key.announced").exists()


@pytest.mark.django_db
def test_running_it_again_during_the_overlap_re_announces_the_same_key(
    linked: tuple[Organisation, Organisation],
) -> None:
    sender, _receiver = linked
    start = timezone.now()
    first, _ = exchange_key_rotate(organisation=sender, actor=None, ctx=RequestContext.system(), now=start)
    out = StringIO()
    call_command("exchange_key_rotate", str(sender.pk), stdout=out)
    assert first in out.getvalue() and "announced to 1 peers" in out.getvalue()
    assert keys.public_key_b64(sender.pk) == first
    announcements = list(OutboxMessage.objects.filter(message_type="exchange.key.announced"))
    assert len(announcements) == 2
    for row in announcements:
        inbox_accept(*sent_at(row, start), now=start)
    assert Peer.objects.get(organisation=sender).public_key == first
    assert AuditEvent.objects.filter(tag="exchange.peer.key_rotated").count() == 1, "the repeat changes nothing"


@pytest.mark.django_db
def test_an_announcement_without_proof_of_the_new_key_is_rejected(linked: tuple[Organisation, Organisation]) -> None:
    sender, _receiver = linked
    start = timezone.now()
    pinned = keys.public_key_b64(sender.pk)
    exchange_key_rotate(organisation=sender, actor=None, ctx=RequestContext.system(), now=start)
    row = OutboxMessage.objects.get(message_type="exchange.key.announced")
    envelope = json.loads(bytes(row.raw))
    stranger = public(Ed25519PrivateKey.generate())
    envelope["body"]["public_key"] = stranger
    envelope["body_sha256"] = body_digest(envelope["body"])
    raw = json.dumps(envelope, ensure_ascii=False).encode()
    timestamp = int(start.timestamp())
    signature = " ".join(sign_ed25519(k, row.pk, timestamp, raw) for k in keys.signing_keys(sender.pk, now=start))
    inbox_accept(raw, signature_headers(row.pk, timestamp, signature), now=start)
    stored = InboxMessage.objects.get(pk=row.pk)
    assert stored.status == InboxStatus.REJECTED and "持有证明" in stored.reason
    assert Peer.objects.get(organisation=sender).public_key == pinned


@pytest.mark.django_db
def test_the_retiring_key_cannot_announce_a_key_of_its_own_during_the_overlap(
    linked: tuple[Organisation, Organisation],
) -> None:
    """Whoever holds the old key (the reason to rotate may be that it leaked) is still believed until the overlap
    ends: an announcement then would let it pin a key of its own in place of the new one."""
    sender, _receiver = linked
    old = keys.private_key(sender.pk)
    start = timezone.now()
    new_public, _ = exchange_key_rotate(organisation=sender, actor=None, ctx=RequestContext.system(), now=start)
    announcement = OutboxMessage.objects.get(message_type="exchange.key.announced")
    inbox_accept(*sent_at(announcement, start), now=start)
    assert Peer.objects.get(organisation=sender).public_key == new_public

    intruder = Ed25519PrivateKey.generate()
    during = start + timedelta(hours=1)
    until = start + timedelta(days=7)
    envelope = json.loads(bytes(announcement.raw))
    envelope["id"] = str(uuid.uuid4())
    envelope["body"].update(
        public_key=public(intruder),
        previous_public_key=new_public,
        overlap_until=until.isoformat(),
        proof=base64.b64encode(
            intruder.sign(announcement_payload(sender.pk, public(intruder), new_public, until))
        ).decode(),
    )
    envelope["body_sha256"] = body_digest(envelope["body"])
    raw = json.dumps(envelope, ensure_ascii=False).encode()
    timestamp = int(during.timestamp())
    message_id = uuid.UUID(envelope["id"])
    inbox_accept(
        raw, signature_headers(message_id, timestamp, sign_ed25519(old, message_id, timestamp, raw)), now=during
    )

    stored = InboxMessage.objects.get(pk=message_id)
    assert stored.status == InboxStatus.REJECTED, stored.reason
    assert Peer.objects.get(organisation=sender).public_key == new_public
