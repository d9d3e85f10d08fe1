"""Statuses of an identity check and the moves between them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.transitions import HasStatus, transition


class CheckStatus(models.TextChoices):
    STARTED = "started", _("待采集")
    PROCESSING = "processing", _("核验中")
    PASSED = "passed", _("通过")
    FAILED = "failed", _("未通过")
    UNUSABLE = "unusable", _("材料无法使用")
    ERROR = "error", _("核验服务出错")


CHECK_MOVES: dict[str, dict[CheckStatus, CheckStatus]] = {
    # The captures arrived (or the hosted flow came back): the worker judges them.
    "submit": {CheckStatus.STARTED: CheckStatus.PROCESSING},
    "pass": {CheckStatus.PROCESSING: CheckStatus.PASSED},
    "fail": {CheckStatus.PROCESSING: CheckStatus.FAILED},
    "refuse_input": {CheckStatus.PROCESSING: CheckStatus.UNUSABLE},
    # The provider refused for good (credentials, configuration) or kept failing.
    "give_up": {CheckStatus.PROCESSING: CheckStatus.ERROR},
}

DECISION_ACTIONS = {"passed": "pass", "failed": "fail", "unusable": "refuse_input"}


def check_transition(check: HasStatus, action: str) -> CheckStatus:
    return transition(check, action, CHECK_MOVES, CheckStatus)
