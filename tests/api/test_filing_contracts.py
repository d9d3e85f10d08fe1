"""/api/filing/contracts: staff sessions and developer tokens, scoped to the company, one error shape."""

from __future__ import annotations

from django.test import Client
from pytest_django import DjangoAssertNumQueries

from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from tests.factories import BuyerFactory, FiledContractFactory, contract_with_buyers


def _bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_token_lists_own_contracts(
    client: Client, developer: Organisation, other_developer: Organisation, developer_token: str
) -> None:
    mine = contract_with_buyers(2, seller=developer)
    contract_with_buyers(1, seller=other_developer)
    response = client.get("/api/filing/contracts", **_bearer(developer_token))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item["contract_no"] == mine.contract_no
    assert item["unit"]["project"]["name"] == mine.unit.building.project.name
    assert len(item["buyers"]) == 2
    buyer = mine.buyers.get(position=1)
    assert item["buyers"][0]["id_number_masked"].endswith(buyer.id_number[-4:])
    assert buyer.id_number not in response.content.decode()


def test_search_and_page_size(client: Client, developer: Organisation, developer_token: str) -> None:
    target = contract_with_buyers(1, seller=developer)
    for _ in range(5):
        FiledContractFactory(seller=developer)
    found = client.get("/api/filing/contracts", {"q": target.contract_no}, **_bearer(developer_token)).json()
    assert [i["contract_no"] for i in found["items"]] == [target.contract_no]
    page = client.get("/api/filing/contracts", {"page_size": 2, "page": 2}, **_bearer(developer_token)).json()
    assert page["count"] == 6
    assert len(page["items"]) == 2


def test_session_user_reads_contract(operator_client: Client, developer: Organisation) -> None:
    contract = contract_with_buyers(1, seller=developer)
    response = operator_client.get(f"/api/filing/contracts/{contract.pk}")
    assert response.status_code == 200
    assert response.json()["filing_no"] == contract.filing_no


def test_reading_a_contract_is_audited_with_who_read_it(
    client: Client, developer: Organisation, developer_token: str
) -> None:
    contract = contract_with_buyers(1, seller=developer)
    assert client.get(f"/api/filing/contracts/{contract.pk}", **_bearer(developer_token)).status_code == 200
    event = AuditEvent.objects.get(tag="filing.contract.viewed")
    assert (event.object_id, event.organisation, event.actor) == (str(contract.pk), developer, None)
    assert event.actor_label == f"token:{developer_token[:12]}"


def test_other_companys_contract_is_404_with_error_shape(
    client: Client, other_developer: Organisation, developer_token: str
) -> None:
    theirs = contract_with_buyers(1, seller=other_developer)
    response = client.get(f"/api/filing/contracts/{theirs.pk}", **_bearer(developer_token))
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"code", "message", "message_en", "fields"}
    assert body["code"] == "not_found"


def test_list_query_count_is_constant(
    client: Client, developer: Organisation, developer_token: str, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    for _ in range(60):
        contract = FiledContractFactory(seller=developer)
        BuyerFactory(contract=contract)
    client.get("/api/filing/contracts", **_bearer(developer_token))  # first use records last_used_at
    # token (with organisation), count, page of contracts, buyers
    for page_size in (5, 60):
        with django_assert_num_queries(4):
            response = client.get("/api/filing/contracts", {"page_size": page_size}, **_bearer(developer_token))
        assert len(response.json()["items"]) == page_size
