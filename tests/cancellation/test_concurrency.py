"""Concurrent moves on one application: exactly one wins, the other is refused (409) and leaves no trace.

Row locks only exist on PostgreSQL (``ECANCEL_TEST_POSTGRES=1``); on SQLite these tests skip.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, cast

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, Role
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import audit_chain_extend, audit_chain_verify, record_event
from ecancel.cancellation import materials
from ecancel.cancellation.models import Application, ApplicationPush, RevokeRequest
from ecancel.cancellation.services.answers import (
    NotaryAnswer,
    application_record_revoke_refused,
    application_record_revoked,
)
from ecancel.cancellation.services.drafting import (
    application_abandon,
    application_create,
    application_set_notary_office,
    application_set_reason,
)
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import ApplicationStatus, RevokeStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.documents import services as documents_services
from ecancel.documents.models import StoredDocument
from ecancel.exchange.models import OutboxMessage
from ecancel.exchange.services import peer_set
from ecancel.filing.transitions import ContractStatus
from tests.conftest import logged_in_client
from tests.exchange.test_relay import free_port
from tests.factories import TEST_PASSWORD, DeveloperFactory, NotaryOfficeFactory, UserFactory, contract_with_buyers

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
    assert all(not isinstance(w, RevokeRequest) or w.status == RevokeStatus.PENDING for w in won)
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


def test_logins_and_audit_writes_go_on_while_a_push_signs(
    setting: tuple[Actor, Organisation, Application], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push signs before it locks anything: a login (which audits) and an audit write from another
    connection both commit while the push is held inside its signing step."""
    actor, _office, application = setting
    signing, release = threading.Event(), threading.Event()
    sign = documents_services.sign_rendered

    def held_signing(*args: Any, **kwargs: Any) -> bytes:
        signing.set()
        release.wait()
        return sign(*args, **kwargs)

    monkeypatch.setattr(documents_services, "sign_rendered", held_signing)
    pushed: list[object] = []

    def in_thread(work: Callable[[], object], into: list[object]) -> threading.Thread:
        def run() -> None:
            try:
                into.append(work())
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    push = in_thread(lambda: application_push(application_id=application.pk, actor=actor, ctx=CTX), pushed)
    try:
        assert signing.wait(timeout=120), "the push never reached its signing step"
        user = UserFactory(organisation=actor.organisation)
        done: list[object] = []
        login = in_thread(
            lambda: Client().post("/login/", {"username": user.username, "password": TEST_PASSWORD}).status_code,
            done,
        )
        audit = in_thread(lambda: record_event("test.during.push", actor=user), done)
        # Generous limits only so a regression fails instead of hanging: nothing here waits on the clock.
        login.join(timeout=60)
        audit.join(timeout=60)
        assert not login.is_alive() and not audit.is_alive(), "blocked behind the signing push"
        assert not pushed, "the push is still held in its signing step"
        assert 302 in done
        assert AuditEvent.objects.filter(tag="accounts.login.succeeded", actor=user).exists()
        assert AuditEvent.objects.filter(tag="test.during.push").exists()
    finally:
        release.set()
        push.join()
    assert pushed and ApplicationPush.objects.filter(application=application).count() == 1
    audit_chain_extend()
    assert audit_chain_verify().ok
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()


ROUNDS = 200
PUSH_EVERY = 20  # every twentieth round the office confirms the revoke first, so the round is a draft's push race
TABS_PER_OPERATOR = 4


def send(tab: Client, path: str, action: str, version: int) -> tuple[str, int, dict[str, Any]]:
    response = tab.post(path, {"version": version}, content_type="application/json")
    return action, response.status_code, response.json()


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def office_answers_revoke(application: Application, office: Organisation, *, confirm: bool) -> None:
    """The office's answer to the pending revoke, through the services its exchange message reaches."""
    answer = NotaryAnswer(
        notary_office=office,
        seller=application.seller,
        application_id=application.pk,
        version=application.version,
        message_id=str(uuid.uuid4()),
    )
    if confirm:
        application_record_revoked(answer=answer, ctx=CTX)
    else:
        application_record_revoke_refused(answer=answer, reason="买受人已到场办理", ctx=CTX)


@pytest.fixture
def signed_once_per_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tab of one operator pushing one version shares one rendering and signing: signing comes before any
    lock and is raced in test_double_push_sends_one_version; here the transition guard under the lock is the point,
    and two hundred rounds of signatures would take minutes."""
    prepare = materials.prepare_documents
    prepared: dict[tuple[str, int], materials.PreparedMaterials] = {}
    guard = threading.Lock()

    def once(application: Application, *, operator: str) -> materials.PreparedMaterials:
        with guard:
            key = (operator, application.version)
            if key not in prepared:
                prepared[key] = prepare(application, operator=operator)
            return prepared[key]

    monkeypatch.setattr(materials, "prepare_documents", once)


@pytest.mark.slow
@pytest.mark.usefixtures("signed_once_per_version")
def test_two_operators_pushing_and_revoking_at_once_have_one_winner_each_round(
    setting: tuple[Actor, Organisation, Application],
) -> None:
    """Two operators of the seller, four tabs each, send push and revoke for one application through the API at the
    same moment, round after round; half of each operator's tabs push, half revoke.

    A revoke round starts at version n pushed to the office: the revokes race, beside pushes from tabs still
    showing the draft of version n. The office then refuses the revoke (the next round is the same again), or,
    every twentieth round, confirms it, and the next round is a push round at the draft of version n+1: the pushes
    race, beside revokes from tabs still showing version n. The office's messages are not relayed here; the test
    answers for it. Each round exactly one request wins, every other gets a 409 saying why in Chinese and in
    English, and the audit trail holds one entry per win."""
    actor, office, application = setting
    for organisation in (application.seller, office):
        peer_set(
            organisation=organisation,
            transport="http",
            endpoint_url=f"http://127.0.0.1:{free_port()}/exchange/",
            hmac_secret=b"r" * 40,
            actor=None,
            ctx=CTX,
        )
    operators = [UserFactory(organisation=application.seller, role=Role.OPERATOR) for _ in range(2)]
    tabs = [logged_in_client(operator) for operator in operators for _ in range(TABS_PER_OPERATOR)]
    url = f"/api/filing/applications/{application.pk}"
    application_push(application_id=application.pk, actor=actor, ctx=CTX)
    wins = {"push": 0, "revoke": 0}
    for round_no in range(ROUNDS):
        application.refresh_from_db()
        version = application.version
        if application.status == ApplicationStatus.PUSHED:
            winning, requests = "revoke", [("revoke", version), ("push", version)]
        else:
            assert application.status == ApplicationStatus.DRAFT, round_no
            winning, requests = "push", [("push", version), ("revoke", version - 1)]
        # Each operator's tabs alternate between the two requests, so both operators race on both.
        plan = [(tab, *requests[index % 2]) for index, tab in enumerate(tabs)]
        attempts = [partial(send, tab, f"{url}/{action}", action, seen) for tab, action, seen in plan]
        sent, failed = race(attempts)
        outcomes = cast(list[tuple[str, int, dict[str, Any]]], sent)
        assert not failed, failed
        winners = [action for action, status, _body in outcomes if status == 200]
        assert winners == [winning], (round_no, outcomes)
        for _action, status, body in outcomes:
            if status != 200:
                assert status == 409, (round_no, status, body)
                assert has_chinese(body["message"]) and body["message_en"], body
                assert not has_chinese(body["message_en"]), body
        wins[winning] += 1
        application.refresh_from_db()
        assert (application.status, application.version) == (ApplicationStatus.PUSHED, version), round_no
        if winning == "revoke":
            office_answers_revoke(application, office, confirm=(round_no + 2) % PUSH_EVERY == 0)
    assert wins == {"push": ROUNDS // PUSH_EVERY, "revoke": ROUNDS - ROUNDS // PUSH_EVERY}
    audit = AuditEvent.objects.filter(object_id=str(application.pk))
    assert audit.filter(tag="cancellation.application.pushed").count() == wins["push"] + 1
    assert audit.filter(tag="cancellation.application.revoke_requested").count() == wins["revoke"]
    assert ApplicationPush.objects.filter(application=application).count() == wins["push"] + 1
    assert RevokeRequest.objects.filter(application=application).count() == wins["revoke"]
    audit_chain_extend()
    assert audit_chain_verify().ok
