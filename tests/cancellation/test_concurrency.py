"""Concurrent moves on one application: exactly one wins, the other is refused (409) and leaves no trace.

Row locks only exist on PostgreSQL (``ECANCEL_TEST_POSTGRES=1``); on SQLite these tests skip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import close_old_connections, connection

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation
from ecancel.cancellation.models import Application, ApplicationPush
from ecancel.cancellation.services import (
    application_abandon,
    application_create,
    application_push,
    application_revoke,
    application_set_notary_office,
    application_set_reason,
)
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.documents.models import StoredDocument
from ecancel.exchange.models import OutboxMessage
from ecancel.filing.transitions import ContractStatus
from tests.factories import DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CTX = RequestContext.system("test")


@pytest.fixture(autouse=True)
def postgres_only() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    yield


def race(attempts: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Run the attempts in threads released together; what each returned or raised."""
    won: list[object] = []
    refused: list[BaseException] = []
    start = threading.Barrier(len(attempts))

    def run(attempt: Callable[[], object]) -> None:
        try:
            start.wait()
            won.append(attempt())
        except BaseException as exc:  # noqa: BLE001 - sorted by each test's assertions
            refused.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won, refused


@pytest.fixture
def setting() -> tuple[Actor, Organisation, Application]:
    seller = DeveloperFactory().organisation
    office = NotaryOfficeFactory().organisation
    actor = Actor.staff(UserFactory(organisation=seller))
    application = application_create(contract_id=contract_with_buyers(2, seller=seller).pk, actor=actor, ctx=CTX)
    application_set_reason(application_id=application.pk, reason="quality", actor=actor, ctx=CTX)
    application_set_notary_office(application_id=application.pk, notary_office_id=office.pk, actor=actor, ctx=CTX)
    return actor, office, application


def only_refusals(refused: list[BaseException]) -> None:
    assert refused and all(isinstance(e, InvalidTransition) and e.http_status == 409 for e in refused), refused


def test_double_push_sends_one_version(setting: tuple[Actor, Organisation, Application]) -> None:
    actor, _office, application = setting
    won, refused = race(
        [lambda: application_push(application_id=application.pk, expected_version=1, actor=actor, ctx=CTX)] * 2
    )
    assert len(won) == 1
    only_refusals(refused)
    assert ApplicationPush.objects.filter(application=application).count() == 1
    assert OutboxMessage.objects.filter(message_type="materials.pushed").count() == 1
    assert StoredDocument.objects.filter(subject_ref=f"application:{application.pk}").count() == 2


def test_push_and_abandon_racing_one_wins(setting: tuple[Actor, Organisation, Application]) -> None:
    actor, _office, application = setting
    won, refused = race(
        [
            lambda: application_push(application_id=application.pk, expected_version=1, actor=actor, ctx=CTX),
            lambda: application_abandon(application_id=application.pk, expected_version=1, actor=actor, ctx=CTX),
        ]
    )
    assert len(won) == 1
    only_refusals(refused)
    application.refresh_from_db()
    application.contract.refresh_from_db()
    if application.status != ApplicationStatus.ABANDONED:
        # The push won; the relay already ran on its commit, so the office may have accepted it.
        assert application.status in (ApplicationStatus.PUSHED, ApplicationStatus.AWAITING_BUYERS)
        assert application.contract.status == ContractStatus.CANCELLING
        assert OutboxMessage.objects.filter(message_type="materials.pushed").count() == 1
    else:
        assert application.status == ApplicationStatus.ABANDONED
        assert application.contract.status == ContractStatus.FILED
        assert not OutboxMessage.objects.filter(message_type="materials.pushed").exists()
        assert not StoredDocument.objects.exists(), "the losing push leaves no document behind"


def test_push_and_revoke_racing_one_wins(setting: tuple[Actor, Organisation, Application]) -> None:
    """The revoke (of what is pushed) and a push from a page still showing the draft: never both."""
    actor, _office, application = setting
    application_push(application_id=application.pk, actor=actor, ctx=CTX)
    won, refused = race(
        [
            lambda: application_push(application_id=application.pk, expected_version=1, actor=actor, ctx=CTX),
            lambda: application_revoke(application_id=application.pk, expected_version=1, actor=actor, ctx=CTX),
        ]
    )
    assert len(won) == 1
    only_refusals(refused)
    assert all(not isinstance(w, Application) or w.status == ApplicationStatus.REVOKING for w in won)
    # The relay runs on commit here: the office has already confirmed the revoke, so it is a draft again.
    application.refresh_from_db()
    assert (application.status, application.version) == (ApplicationStatus.DRAFT, 2)
    assert OutboxMessage.objects.filter(message_type="materials.pushed").count() == 1
    assert OutboxMessage.objects.filter(message_type="revoke.requested").count() == 1


def test_double_revoke_sends_one_request(setting: tuple[Actor, Organisation, Application]) -> None:
    actor, _office, application = setting
    application_push(application_id=application.pk, actor=actor, ctx=CTX)
    won, refused = race(
        [lambda: application_revoke(application_id=application.pk, expected_version=1, actor=actor, ctx=CTX)] * 3
    )
    assert len(won) == 1
    only_refusals(refused)
    assert OutboxMessage.objects.filter(message_type="revoke.requested").count() == 1


def test_two_operators_creating_for_one_contract(setting: tuple[Actor, Organisation, Application]) -> None:
    actor, _office, application = setting
    application_abandon(application_id=application.pk, actor=actor, ctx=CTX)
    won, refused = race([lambda: application_create(contract_id=application.contract_id, actor=actor, ctx=CTX)] * 3)
    assert len(won) == 1
    only_refusals(refused)
    assert all(e.code == "application_exists" for e in refused if isinstance(e, InvalidTransition))
    assert Application.objects.open().filter(contract_id=application.contract_id).count() == 1
