"""Statuses of a buyer's journey (what the operator and the other buyers see) and the moves between them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.transitions import HasStatus, transition


class JourneyStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未核验")
    IN_PROGRESS = "in_progress", _("进行中")
    SUBMITTED = "submitted", _("已提交")


JOURNEY_MOVES: dict[str, dict[JourneyStatus, JourneyStatus]] = {
    # The buyer gave the consents and began checking their identity.
    "start": {JourneyStatus.NOT_STARTED: JourneyStatus.IN_PROGRESS},
    # Everything is in and sealed: nothing changes any more.
    "submit": {JourneyStatus.IN_PROGRESS: JourneyStatus.SUBMITTED},
}


def journey_transition(journey: HasStatus, action: str) -> JourneyStatus:
    return transition(journey, action, JOURNEY_MOVES, JourneyStatus)
