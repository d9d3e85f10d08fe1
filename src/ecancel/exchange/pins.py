"""Document-signing pins: which keys may sign the documents an organisation sends.

A signature that chains to a trusted root only says some CA vouched for a name; the pin says it is the key this
organisation told us about. A pin is the SHA-256 (lowercase hex) of the signing certificate's SubjectPublicKeyInfo,
so a certificate re-issued for the same key keeps its pin. An organisation may have several (a new key pinned
before the old one is retired).

- hosted elsewhere: its active ``Peer`` row's ``document_signing_pins``, imported from its deployment's
  ``exchange_identity`` or changed with ``ecancel exchange_peer set --add-pin/--remove-pin``;
- hosted here without a Peer row: the key this deployment signs its documents with. Its side registers how to
  read it (``register_hosted_pins``), as the sides register their message handlers: ``exchange`` does not read
  the signing backend itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation
from ecancel.core.errors import ValidationFailed
from ecancel.exchange.routing import active_peer, is_hosted

PinSource = Callable[[Organisation], list[str]]

_hosted_sources: dict[str, PinSource] = {}
_PIN = re.compile(r"[0-9a-f]{64}")


def register_hosted_pins(kind: str, source: PinSource) -> None:
    """How the pins of a hosted organisation of ``kind`` are read (its signing key's, from the signing backend)."""
    _hosted_sources[kind] = source


def hosted_pins(organisation: Organisation) -> list[str]:
    """The pins of an organisation hosted here, as its side reads them; none if no side speaks for its kind."""
    source = _hosted_sources.get(organisation.kind)
    return source(organisation) if source is not None else []


def document_signing_pins(organisation: Organisation) -> frozenset[str]:
    """The keys whose signatures on documents are ``organisation``'s; empty when nothing is pinned for it."""
    peer = active_peer(organisation)
    if peer is not None:
        return frozenset(peer.document_signing_pins)
    if is_hosted(organisation):
        return frozenset(hosted_pins(organisation))
    return frozenset()


def normalise_pin(value: str) -> str:
    """A pin as stored: 64 lowercase hex digits; colons and spaces (as fingerprints are often written) dropped."""
    pin = re.sub(r"[\s:]", "", value).lower()
    if not _PIN.fullmatch(pin):
        raise ValidationFailed(
            _("证书公钥指纹格式错误：应为签章证书公钥（SubjectPublicKeyInfo）的 SHA-256，64 位十六进制：%(value)s"),
            params={"value": value[:80]},
        )
    return pin


def normalise_pins(values: Iterable[str]) -> list[str]:
    """Each pin checked, duplicates dropped, the order kept."""
    return list(dict.fromkeys(normalise_pin(value) for value in values))
