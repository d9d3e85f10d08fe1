"""The push signs before it locks: an application edited meanwhile is refused and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django import Settings

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation
from ecancel.cancellation.models import Application
from ecancel.cancellation.services.drafting import application_set_reason
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.documents import services as documents_services
from ecancel.documents.models import StoredDocument
from ecancel.exchange.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_an_edit_while_the_documents_are_signed_refuses_the_push(
    ready_application: Application,
    notary_office: Organisation,
    actor: Actor,
    ctx: RequestContext,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
) -> None:
    # The "other request" editing meanwhile is simulated inside the signing step, which must then run in the
    # caller's thread: the niced signing thread has no access to the test's database.
    settings.ECANCEL_SIGNING_NICENESS = 0
    sign = documents_services.sign_rendered
    edited: list[bool] = []

    def sign_while_someone_edits(*args: Any, **kwargs: Any) -> bytes:
        if not edited:
            application_set_reason(application_id=ready_application.pk, reason="quality", actor=actor, ctx=ctx)
            edited.append(True)
        return sign(*args, **kwargs)

    monkeypatch.setattr(documents_services, "sign_rendered", sign_while_someone_edits)
    with pytest.raises(InvalidTransition) as refused:
        application_push(application_id=ready_application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx)
    assert refused.value.code == "changed_while_signing"
    assert "请核对后重新推送" in refused.value.zh
    ready_application.refresh_from_db()
    assert ready_application.status == ApplicationStatus.DRAFT
    assert not StoredDocument.objects.exists()
    assert not OutboxMessage.objects.exists()

    monkeypatch.setattr(documents_services, "sign_rendered", sign)
    application_push(application_id=ready_application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx)
    ready_application.refresh_from_db()
    assert ready_application.status != ApplicationStatus.DRAFT
