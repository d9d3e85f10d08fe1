"""A test double that decides by configuration, never by looking at the evidence.

For tests of other parts (the buyer journey, the notary's review) that need a face check to pass or
fail on cue without dlib or a network. ``ECANCEL_IDENTITY_NULL_OUTCOMES`` maps an operation
(``face``, ``document``, ``video``, ``compare``) to ``"passed"``, ``"failed:<reason>,<reason>"``,
``"unusable:<reason>"`` or ``"unavailable:<code>"`` (raises ``ProviderUnavailable``); anything not
listed passes. Never configure it in production: every outcome it gives is made up.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import cast

from django.conf import settings

from ecancel.identity.providers.base import (
    Decision,
    DocumentKind,
    FaceCapture,
    FaceStart,
    Outcome,
    ProviderUnavailable,
)

MODEL = "null provider (test double: outcomes come from settings, not from the evidence)"
MODEL_VERSION = "1"
THRESHOLD = 0.5


def configured_outcome(operation: str) -> tuple[Decision, tuple[str, ...]]:
    """The decision and reasons configured for ``operation``; raises for ``unavailable:``."""
    outcomes: dict[str, str] = getattr(settings, "ECANCEL_IDENTITY_NULL_OUTCOMES", {}) or {}
    spec = outcomes.get(operation, "passed")
    decision, _, codes = spec.partition(":")
    reasons = tuple(code for code in codes.split(",") if code)
    if decision == "unavailable":
        raise ProviderUnavailable(reasons[0] if reasons else "unavailable", "configured on the null provider")
    if decision not in ("passed", "failed", "unusable"):
        raise ValueError(f"ECANCEL_IDENTITY_NULL_OUTCOMES[{operation!r}] = {spec!r} is not a known outcome")
    if decision != "passed" and not reasons:
        reasons = (f"null_{decision}",)
    return cast(Decision, decision), reasons


def _outcome(operation: str, **details: object) -> Outcome:
    decision, reasons = configured_outcome(operation)
    distance = 0.0 if decision == "passed" else 1.0
    return Outcome(
        decision,
        reasons,
        MODEL,
        MODEL_VERSION,
        scores={"distance": distance},
        threshold=THRESHOLD,
        details={"null_provider": True, **details},
    )


class NullProvider:
    """Deterministic outcomes for tests of other parts (see the module docstring)."""

    name = "null"

    def start_face_check(self, *, action: str, nonce: str, return_url: str, name: str, id_number: str) -> FaceStart:
        return FaceStart(nonce=nonce, action=action, capture_seconds=3.0)

    def finish_face_check(
        self, *, start: FaceStart, capture: FaceCapture, reference: bytes | None, previous: bytes | None
    ) -> Outcome:
        return _outcome("face", action=start.action)

    def read_document(
        self,
        *,
        kind: DocumentKind,
        image: bytes,
        today: date,
        expected_name: str | None = None,
        expected_number: str | None = None,
    ) -> Outcome:
        fields = {"name": expected_name or "", "number": expected_number or ""}
        outcome = _outcome("document", kind=kind, fields=fields, image_sha256=hashlib.sha256(image).hexdigest())
        return outcome

    def check_video(self, *, video: bytes, text: str, portrait: bytes | None) -> Outcome:
        return _outcome("video", text=text)

    def compare(self, *, image_a: bytes, image_b: bytes) -> Outcome:
        return _outcome("compare")
