"""Every operator move from every status it is not allowed in: a 409 refusal in words, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ecancel.accounts.actors import Actor
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import Application
from ecancel.cancellation.services.drafting import application_abandon, application_set_reason
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import MOVES, ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.exchange.models import OutboxMessage

Move = Callable[[Application, Actor, RequestContext], object]

OPERATOR_MOVES: dict[str, Move] = {
    "edit": lambda app, actor, ctx: application_set_reason(
        application_id=app.pk, reason="quality", actor=actor, ctx=ctx
    ),
    "push": lambda app, actor, ctx: application_push(application_id=app.pk, actor=actor, ctx=ctx),
    "request_revoke": lambda app, actor, ctx: application_revoke(application_id=app.pk, actor=actor, ctx=ctx),
    "abandon": lambda app, actor, ctx: application_abandon(application_id=app.pk, actor=actor, ctx=ctx),
}

ILLEGAL = [(action, status) for action in OPERATOR_MOVES for status in ApplicationStatus if status not in MOVES[action]]


@pytest.mark.parametrize(("action", "status"), ILLEGAL, ids=[f"{a}-from-{s.value}" for a, s in ILLEGAL])
def test_refused_with_409_and_nothing_changes(
    ready_application: Application, actor: Actor, ctx: RequestContext, action: str, status: ApplicationStatus
) -> None:
    # Put the application in the status directly: the refusal must come from the guard, whatever led there.
    Application.objects.filter(pk=ready_application.pk).update(status=status)
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidTransition) as refused:
        OPERATOR_MOVES[action](ready_application, actor, ctx)
    assert refused.value.http_status == 409
    assert refused.value.zh and refused.value.en
    ready_application.refresh_from_db()
    assert (ready_application.status, ready_application.version, ready_application.reason) == (
        status,
        1,
        "mutual_agreement",
    )
    assert AuditEvent.objects.count() == before
    assert not OutboxMessage.objects.exists()
