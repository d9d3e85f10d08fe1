"""Message bodies for tests that write them as dicts (as a peer on the wire would), typed as services send them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecancel.exchange.messages import Message, message_model


def typed(message_type: str, body: Mapping[str, Any]) -> Message:
    model = message_model(message_type)
    assert model is not None, f"unknown message type {message_type!r}"
    return model.model_validate(dict(body))
