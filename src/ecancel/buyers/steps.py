"""The steps of a buyer's journey, in order, for each path (manual 7.1 and 7.2).

Mainland buyers with face processing: consents, face check, the four documents, the ID photos, the
signature, the second face check, done. Everyone else (non-mainland, or a mainland buyer who declined face
processing): consents, the document type (non-mainland only), the document photos read by the engine, the
four documents, the photos, the signature, the statement video, the final check with submission, done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from ecancel.buyers.models import Journey

CONSENT, FACE, READ, UPLOADS, SIGNATURE, FACE_AGAIN, DONE = (
    "consent",
    "face",
    "read",
    "uploads",
    "signature",
    "face_again",
    "done",
)
DOCUMENT_KIND, DOCUMENT_READ, VIDEO, SUBMIT = "document_kind", "document_read", "video", "submit"

FACE_STEPS = (CONSENT, FACE, READ, UPLOADS, SIGNATURE, FACE_AGAIN, DONE)
DOCUMENT_STEPS = (CONSENT, DOCUMENT_KIND, DOCUMENT_READ, READ, UPLOADS, SIGNATURE, VIDEO, SUBMIT, DONE)

TITLES = {
    CONSENT: _("授权同意"),
    FACE: _("人脸核验"),
    DOCUMENT_KIND: _("选择证件类型"),
    DOCUMENT_READ: _("证件识别"),
    READ: _("阅读文书"),
    UPLOADS: _("上传证件照片"),
    SIGNATURE: _("手写签名"),
    FACE_AGAIN: _("再次人脸核验"),
    VIDEO: _("录制视频"),
    SUBMIT: _("提交资料"),
    DONE: _("申请成功"),
}

# Non-mainland documents a buyer may choose (identity.providers.base.DocumentKind names).
FOREIGN_DOCUMENTS = {
    "passport": _("护照"),
    "hk_macau_permit": _("港澳居民来往内地通行证"),
    "taiwan_permit": _("台湾居民来往大陆通行证"),
    "foreign_permanent_residence": _("外国人永久居留身份证"),
}
MAINLAND_ID = "id_card"


def journey_steps(journey: Journey) -> tuple[str, ...]:
    from ecancel.buyers.models import JourneyPath

    if journey.path == JourneyPath.FACE:
        return FACE_STEPS
    if journey.actor.is_mainland:
        return tuple(step for step in DOCUMENT_STEPS if step != DOCUMENT_KIND)
    return DOCUMENT_STEPS


def next_step(journey: Journey, step: str) -> str:
    steps = journey_steps(journey)
    return steps[min(steps.index(step) + 1, len(steps) - 1)]


def reading_kind(document_kind: str) -> str:
    """The identity engine's kind for the front page of a chosen document."""
    return "id_card_front" if document_kind == MAINLAND_ID else document_kind
