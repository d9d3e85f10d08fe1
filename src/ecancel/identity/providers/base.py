"""What every identity provider does, and what it answers.

A provider judges evidence; it keeps no state. The services in ``identity.services`` choose the
challenge, store every outcome as an ``IdentityCheck`` with the SHA-256 of each file used, and count
attempts. Nothing a browser says about its own result reaches a provider: the finish step gets the
raw captures (or, for a hosted flow, asks the provider's server for the result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

Decision = Literal["passed", "failed", "unusable"]
DocumentKind = Literal[
    "id_card_front", "id_card_back", "passport", "hk_macau_permit", "taiwan_permit", "foreign_permanent_residence"
]
DOCUMENT_KINDS: tuple[DocumentKind, ...] = (
    "id_card_front",
    "id_card_back",
    "passport",
    "hk_macau_permit",
    "taiwan_permit",
    "foreign_permanent_residence",
)


@dataclass(frozen=True)
class FaceStart:
    """What the page must do for a face check: perform ``action`` on camera, or go to ``redirect_url``."""

    nonce: str
    action: str | None = None
    redirect_url: str | None = None
    external_ref: str = ""  # the hosted flow's token (Tencent BizToken)
    capture_seconds: float = 3.0


@dataclass(frozen=True)
class FaceCapture:
    """Raw camera material from the page: a short video, or still frames in order."""

    video: bytes | None = None
    frames: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """A provider's judgement. ``scores`` and ``details`` are JSON-safe; ``portrait`` is an image the
    provider cut out (the face on a document, the best camera frame) for later comparisons."""

    decision: Decision
    reasons: tuple[str, ...]
    model: str
    model_version: str
    scores: dict[str, float] = field(default_factory=dict)
    threshold: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    portrait: bytes | None = None

    @property
    def passed(self) -> bool:
        return self.decision == "passed"


class ProviderUnavailable(Exception):
    """The provider could not answer now (throttled, timed out, down): try again later."""

    retryable = True

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class ProviderRefused(Exception):
    """The provider refused the request for a reason retrying will not fix (credentials, configuration)."""

    retryable = False

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class IdentityProvider(Protocol):
    """Face checks, document reading, video checks and photo comparison, decided on the server."""

    name: str

    def start_face_check(self, *, action: str, nonce: str, return_url: str, name: str, id_number: str) -> FaceStart:
        """Begin a face check for the person named; ``action`` and ``nonce`` are chosen by the server."""
        ...

    def finish_face_check(
        self, *, start: FaceStart, capture: FaceCapture, reference: bytes | None, previous: bytes | None
    ) -> Outcome:
        """Judge a face check from raw captures: liveness for ``start.action`` and the face against the
        ``reference`` portrait (and against the ``previous`` capture, when there is one)."""
        ...

    def read_document(
        self,
        *,
        kind: DocumentKind,
        image: bytes,
        today: date,
        expected_name: str | None = None,
        expected_number: str | None = None,
    ) -> Outcome:
        """Read an identity document; ``details["fields"]`` holds what was read, ``portrait`` the face cut out."""
        ...

    def check_video(self, *, video: bytes, text: str, portrait: bytes | None) -> Outcome:
        """Judge a recorded statement video (length, sound, one face, the face against ``portrait``)."""
        ...

    def compare(self, *, image_a: bytes, image_b: bytes) -> Outcome:
        """Whether the one face in each image is the same person."""
        ...
