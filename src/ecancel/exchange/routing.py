"""Which organisations this deployment hosts, how to reach the others, and whose key checks what.

For a message from S to R:
- sending: R's active Peer row decides transport and signing (HMAC with the row's secret, or S's
  own Ed25519 key); without one, R must be hosted here and is reached in-process with Ed25519;
- receiving: S's active Peer row decides how the signature is checked (its HMAC secret or its
  public key); without one, S must be hosted here and its own key checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from ecancel.accounts.models import Organisation
from ecancel.exchange import keys
from ecancel.exchange.envelope import sign_ed25519, sign_hmac, signature_headers
from ecancel.exchange.errors import NoRoute
from ecancel.exchange.messages import FILING_KINDS, NOTARY_KINDS
from ecancel.exchange.models import Peer, Signing, Transport

SIDE_KINDS: dict[str, frozenset[str]] = {"filing": FILING_KINDS, "notary": NOTARY_KINDS}


def hosted_kinds() -> frozenset[str]:
    kinds: set[str] = set()
    for side in settings.ECANCEL_HOSTED_SIDES:
        kinds |= SIDE_KINDS[side]
    return frozenset(kinds)


def is_hosted(organisation: Organisation) -> bool:
    return organisation.kind in hosted_kinds()


def active_peer(organisation: Organisation) -> Peer | None:
    return Peer.objects.filter(organisation=organisation, active=True).first()


def peer_hmac_secret(peer: Peer) -> bytes:
    return keys.open_secret(peer.hmac_secret_sealed, bound_to=str(peer.organisation_id))


@dataclass(frozen=True)
class Route:
    """How one message goes out: transport, address, and how it is signed."""

    transport: str
    endpoint_url: str = ""
    signing: str = Signing.ED25519
    hmac_secret: bytes = field(default=b"", repr=False)

    @property
    def failure_group(self) -> str | None:
        """Messages to one HTTP endpoint share its outages; in-process failures are each their own."""
        return self.endpoint_url if self.transport == Transport.HTTP else None

    def sign(self, *, sender: Organisation, message_id: UUID, raw: bytes, timestamp: int) -> dict[str, str]:
        """Headers for one attempt: a fresh timestamp each time, the same bytes."""
        if self.signing == Signing.HMAC_SHA256:
            signature = sign_hmac(self.hmac_secret, message_id, timestamp, raw)
        else:
            at = datetime.fromtimestamp(timestamp, UTC)
            signature = " ".join(
                sign_ed25519(key, message_id, timestamp, raw) for key in keys.signing_keys(sender.pk, now=at)
            )
        return signature_headers(message_id, timestamp, signature)


def route_to(recipient: Organisation) -> Route:
    """The route to ``recipient``, or NoRoute naming what an administrator must configure."""
    peer = active_peer(recipient)
    if peer is not None:
        secret = peer_hmac_secret(peer) if peer.signing == Signing.HMAC_SHA256 else b""
        return Route(transport=peer.transport, endpoint_url=peer.endpoint_url, signing=peer.signing, hmac_secret=secret)
    if is_hosted(recipient):
        return Route(transport=Transport.IN_PROCESS)
    raise NoRoute(recipient.name)


@dataclass(frozen=True)
class Verifier:
    """How a sender's signatures are checked."""

    signing: str
    public_keys: tuple[Ed25519PublicKey, ...] = ()  # any of them may have signed
    hmac_secret: bytes = field(default=b"", repr=False)


def verifier_for(sender: Organisation, *, now: datetime) -> Verifier | None:
    """None when this deployment has no way to check what ``sender`` signs.

    During a key rotation's overlap the peer's previous key is accepted beside the new one; after it, only the new.
    """
    peer = active_peer(sender)
    if peer is not None:
        if peer.signing == Signing.HMAC_SHA256:
            return Verifier(signing=peer.signing, hmac_secret=peer_hmac_secret(peer))
        accepted = [peer.public_key]
        if peer.previous_public_key and peer.previous_key_until and now < peer.previous_key_until:
            accepted.append(peer.previous_public_key)
        return Verifier(signing=peer.signing, public_keys=tuple(map(keys.load_public_key, accepted)))
    if is_hosted(sender):
        hosted = keys.signing_keys(sender.pk, now=now)
        return Verifier(signing=Signing.ED25519, public_keys=tuple(key.public_key() for key in hosted))
    return None
