"""Who applies a received message: one handler per message type, registered at start-up.

Apps register from ``AppConfig.ready()``::

    register_handler("materials.pushed", notary.handlers.on_materials_pushed)

A handler runs inside the transaction that marks the inbox row applied, so its effect happens
exactly once. Raising a ``DomainError`` rejects the message (stored as rejected, not retried);
any other exception rolls everything back and the sender retries.
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

HANDLERS: dict[str, Handler] = {}


def register_handler(message_type: str, handler: Handler) -> None:
    if message_type not in MESSAGE_TYPES:
        raise ImproperlyConfigured(f"unknown message type {message_type!r}")
    existing = HANDLERS.get(message_type)
    if existing is not None and existing is not handler:
        raise ImproperlyConfigured(f"{message_type!r} already has a handler: {existing!r}")
    HANDLERS[message_type] = handler


def handles(message_type: str) -> Callable[[Handler], Handler]:
    """Decorator form of ``register_handler``; the module must be imported in ``ready()``."""

    def decorate(handler: Handler) -> Handler:
        register_handler(message_type, handler)
        return handler

    return decorate


def handler_for(message_type: str) -> Handler | None:
    return HANDLERS.get(message_type)
