"""Who applies a received message: one handler per message type, registered at start-up.

Apps register from ``AppConfig.ready()``::

    register_handler("materials.pushed", notary.handlers.on_materials_pushed)

A handler runs inside the transaction that marks the inbox row applied, so its effect happens
exactly once. Raising a ``DomainError`` rejects the message (stored as rejected, not retried);
any other exception rolls everything back and the sender retries.

Slow work that reads the message but changes nothing (checking the signatures of attached PDFs, say)
belongs in the handler's ``prepare`` step: it runs after the message is verified and before the inbox
transaction begins, so no lock is held meanwhile, and its result reaches the handler as
``message.prepared``. It may run again if the sender retries, so it must not write anything::

    register_handler("materials.pushed", on_materials_pushed, prepare=check_materials)
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured

from ecancel.core.context import RequestContext
from ecancel.exchange.envelope import Envelope, EnvelopeInvalid
from ecancel.exchange.messages import MESSAGE_TYPES, Message

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class ReceivedMessage:
    """What a handler sees of a verified message."""

    id: UUID
    type: str
    sender: Organisation
    recipient: Organisation
    body: Mapping[str, Any]
    payload: Message
    created_at: datetime
    received_at: datetime
    ctx: RequestContext
    envelope: Envelope = field(repr=False)
    # What the handler's prepare step returned (None without one).
    prepared: Any = field(default=None, repr=False)

    @property
    def attachment_names(self) -> list[str]:
        return sorted(self.envelope.attachments)

    def attachment(self, name: str) -> bytes:
        """The attachment's bytes, its SHA-256 checked again; KeyError if there is none of that name."""
        try:
            return self.envelope.attachment_bytes(name)
        except EnvelopeInvalid as exc:
            raise ValueError(str(exc)) from exc

    def parsed(self, model: builtins.type[M]) -> M:
        """The body as ``model``, for typed access: ``msg.parsed(MaterialsPushed).applicants``."""
        if not isinstance(self.payload, model):
            raise TypeError(f"{self.type} is not {model.__name__}")
        return self.payload


Handler = Callable[[ReceivedMessage], None]
Prepare = Callable[[ReceivedMessage], Any]

HANDLERS: dict[str, Handler] = {}
PREPARES: dict[str, Prepare] = {}


def register_handler(message_type: str, handler: Handler, *, prepare: Prepare | None = None) -> None:
    """``handler`` applies ``message_type`` inside the inbox transaction; ``prepare``, if given, runs before it,
    outside any transaction, and its result is the message's ``prepared``."""
    if message_type not in MESSAGE_TYPES:
        raise ImproperlyConfigured(f"unknown message type {message_type!r}")
    existing = HANDLERS.get(message_type)
    if existing is not None and existing is not handler:
        raise ImproperlyConfigured(f"{message_type!r} already has a handler: {existing!r}")
    HANDLERS[message_type] = handler
    if prepare is not None:
        PREPARES[message_type] = prepare


def handles(message_type: str) -> Callable[[Handler], Handler]:
    """Decorator form of ``register_handler``; the module must be imported in ``ready()``."""

    def decorate(handler: Handler) -> Handler:
        register_handler(message_type, handler)
        return handler

    return decorate


def handler_for(message_type: str) -> Handler | None:
    return HANDLERS.get(message_type)


def prepare_for(message_type: str) -> Prepare | None:
    return PREPARES.get(message_type)
