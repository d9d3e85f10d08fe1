"""Kept answers of the busiest API reads (``core.answers``): served while every table they were read from is
unchanged, built again after any committed write to one, never to another caller or in another language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.accounts.services import api_token_authenticate, api_token_create, api_token_revoke
from ecancel.cancellation.models import Application
from ecancel.core.answers import AnswerStore, TableWatch, answer_store
from ecancel.core.context import RequestContext
from ecancel.filing.models import BuyerParty, FiledContract

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answers(redis_url: str, settings: Settings) -> Iterator[AnswerStore]:
    """The Redis store, with this test's database connection watched as every connection of such a deployment is."""
    settings.ECANCEL_RATE_LIMIT_REDIS_URL = redis_url
    settings.ECANCEL_ANSWER_CACHE_BACKEND = "ecancel.core.answers.RedisAnswerStore"
    store = answer_store()
    watch = TableWatch(store)
    connection.ensure_connection()
    connection.execute_wrappers.append(watch)
    yield store
    connection.execute_wrappers.remove(watch)
    redis.Redis.from_url(redis_url).flushall()


def _api(organisation: Organisation) -> tuple[Client, str]:
    _, raw = api_token_create(organisation=organisation, name="ERP", actor=None, ctx=RequestContext.system())
    api_token_authenticate(raw)  # its first use is recorded (a write to the token's row, at most once a minute)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}"), raw


def _statements(client: Client, url: str, **headers: str) -> tuple[dict[str, object], list[str]]:
    with CaptureQueriesContext(connection) as seen:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.content
    return response.json(), [query["sql"] for query in seen.captured_queries]


def test_a_kept_list_is_served_until_a_table_it_was_read_from_changes(
    answers: AnswerStore, contract: FiledContract, developer: Organisation
) -> None:
    api, _ = _api(developer)
    first, built = _statements(api, "/api/filing/contracts")
    kept, served = _statements(api, "/api/filing/contracts")

    assert kept == first
    assert len(built) > 3 and served == [], served  # not even the token: its row is among the tables read

    # a write outside any transaction (a bulk update): the next call reads again
    BuyerParty.objects.filter(contract=contract, position=1).update(name="新名字")
    renamed, _ = _statements(api, "/api/filing/contracts")
    assert renamed["items"][0]["buyers"][0]["name"] == "新名字"  # type: ignore[index]

    # a write in a transaction: once it commits
    with transaction.atomic():
        FiledContract.objects.filter(pk=contract.pk).update(status="cancelled")
    after, _ = _statements(api, "/api/filing/contracts")
    assert after["items"][0]["status"] == "cancelled"  # type: ignore[index]


def test_a_rolled_back_write_leaves_the_kept_answer(
    answers: AnswerStore, contract: FiledContract, developer: Organisation
) -> None:
    api, _ = _api(developer)
    first, _ = _statements(api, "/api/filing/contracts")
    with pytest.raises(RuntimeError), transaction.atomic():
        FiledContract.objects.filter(pk=contract.pk).update(status="cancelled")
        raise RuntimeError("abandoned")

    kept, served = _statements(api, "/api/filing/contracts")
    assert kept == first and served == []


def test_an_application_changed_through_the_api_is_read_again(
    answers: AnswerStore, application: Application, developer: Organisation
) -> None:
    api, _ = _api(developer)
    url = f"/api/filing/applications/{application.pk}"
    before, _ = _statements(api, url)
    _statements(api, url)
    assert before["reason"] != "mutual_agreement"

    changed = api.put(f"{url}/reason", {"reason": "mutual_agreement"}, content_type="application/json")
    assert changed.status_code == 200, changed.content

    after, statements = _statements(api, url)
    assert after["reason"] == "mutual_agreement" and len(statements) > 2


def test_answers_are_kept_per_token_and_language(
    answers: AnswerStore, contract: FiledContract, developer: Organisation, other_developer: Organisation
) -> None:
    api, _ = _api(developer)
    chinese, _ = _statements(api, "/api/filing/contracts")
    english, statements = _statements(api, "/api/filing/contracts", accept_language="en")
    assert english["items"][0]["status_label"] != chinese["items"][0]["status_label"]  # type: ignore[index]
    assert len(statements) > 2  # built, not the Chinese answer

    other, _ = _api(other_developer)
    theirs, statements = _statements(other, "/api/filing/contracts")
    assert theirs["count"] == 0 and any("filing_filedcontract" in sql for sql in statements)  # built for them


def test_a_revoked_token_is_refused_though_its_answer_is_kept(
    answers: AnswerStore, contract: FiledContract, developer: Organisation
) -> None:
    token, raw = api_token_create(organisation=developer, name="ERP", actor=None, ctx=RequestContext.system())
    api_token_authenticate(raw)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    _statements(api, "/api/filing/contracts")
    assert _statements(api, "/api/filing/contracts")[1] == []  # served as kept
    api_token_revoke(token=token, actor=None, ctx=RequestContext.system())

    assert api.get("/api/filing/contracts").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}x").get("/api/filing/contracts").status_code == 401


def test_kept_answers_are_encrypted(
    answers: AnswerStore, redis_url: str, contract: FiledContract, developer: Organisation
) -> None:
    api, _ = _api(developer)
    body = api.get("/api/filing/contracts").content
    masked_id_number = api.get("/api/filing/contracts").json()["items"][0]["buyers"][0]["id_number_masked"]

    client = redis.Redis.from_url(redis_url)
    stored = b"".join(client.dump(key) or b"" for key in client.scan_iter())
    assert stored and body not in stored
    for shown in (contract.contract_no, masked_id_number, body.decode()[:40]):
        assert shown.encode() not in stored


def test_without_its_store_the_api_answers_and_writes_go_on(
    settings: Settings, contract: FiledContract, developer: Organisation, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ECANCEL_RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    settings.ECANCEL_ANSWER_CACHE_BACKEND = "ecancel.core.answers.RedisAnswerStore"
    watch = TableWatch(answer_store())
    connection.execute_wrappers.append(watch)
    try:
        api, _ = _api(developer)
        assert api.get("/api/filing/contracts").status_code == 200
        BuyerParty.objects.filter(contract=contract, position=1).update(name="新名字")
        assert "新名字" in str(api.get("/api/filing/contracts").json())
    finally:
        connection.execute_wrappers.remove(watch)
    assert "answer cache" in caplog.text


def test_an_answer_reached_through_a_staff_session_is_never_kept_for_the_bearer_value_sent_beside_it(
    answers: AnswerStore, contract: FiledContract, operator_client: Client
) -> None:
    made_up = {"authorization": "Bearer ect_" + "x" * 43}
    # a staff session sending a made-up token: the token is refused, the session answers
    assert operator_client.get("/api/filing/contracts", headers=made_up).status_code == 200
    assert operator_client.get("/api/filing/contracts", headers=made_up).status_code == 200

    assert Client().get("/api/filing/contracts", headers=made_up).status_code == 401
