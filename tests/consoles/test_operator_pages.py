"""Operator console pages: list with search, filter and pagination at a constant query count; detail."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.functional import Promise
from pytest_django import DjangoAssertNumQueries

from ecancel.accounts.models import Organisation, User
from ecancel.audit.models import AuditEvent
from ecancel.consoles.operator.forms import ContractSearchForm
from ecancel.filing.transitions import ContractStatus
from tests.factories import BuyerFactory, FiledContractFactory, contract_with_buyers


def test_list_shows_own_contracts_only(
    operator_client: Client, developer: Organisation, other_developer: Organisation
) -> None:
    mine = contract_with_buyers(2, seller=developer)
    theirs = contract_with_buyers(1, seller=other_developer)
    response = operator_client.get("/operator/contracts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert mine.contract_no in html
    assert theirs.contract_no not in html
    for buyer in mine.buyers.all():
        assert buyer.name in html
    assert "已备案合同" in html


@pytest.mark.parametrize("field", ["contract_no", "buyer", "room", "project"])
def test_search_by_number_buyer_unit_or_project(operator_client: Client, developer: Organisation, field: str) -> None:
    target = contract_with_buyers(1, seller=developer)
    other = contract_with_buyers(1, seller=developer)
    buyer = target.buyers.get()
    other.buyers.update(name="王五")
    query = {
        "contract_no": target.contract_no,
        "buyer": buyer.name,
        "room": f"{target.unit.building.project.name}",
        "project": target.unit.building.project.name,
    }[field]
    if field == "room":
        # Make the room number unique among the company's contracts.
        target.unit.room_no = "R9901"
        target.unit.save(update_fields=["room_no"])
        query = "R9901"
    html = operator_client.get("/operator/contracts/", {"q": query}).content.decode()
    assert target.contract_no in html
    assert other.contract_no not in html


def test_status_filter(operator_client: Client, developer: Organisation) -> None:
    filed = FiledContractFactory(seller=developer)
    cancelling = FiledContractFactory(seller=developer, status=ContractStatus.CANCELLING)
    html = operator_client.get("/operator/contracts/", {"status": "cancelling"}).content.decode()
    assert cancelling.contract_no in html
    assert filed.contract_no not in html


def test_pagination_and_page_size(operator_client: Client, developer: Organisation) -> None:
    contracts = [FiledContractFactory(seller=developer) for _ in range(25)]
    first = operator_client.get("/operator/contracts/", {"per_page": 10}).content.decode()
    shown = [c for c in contracts if c.contract_no in first]
    assert len(shown) == 10
    assert "共 25 份" in first
    third = operator_client.get("/operator/contracts/", {"per_page": 10, "page": 3}).content.decode()
    assert len([c for c in contracts if c.contract_no in third]) == 5
    # Page sizes outside the offered ones are refused and the default applies.
    fallback = operator_client.get("/operator/contracts/", {"per_page": 1000}).content.decode()
    assert len([c for c in contracts if c.contract_no in fallback]) == 20


def _make_contracts(seller: Organisation, count: int) -> None:
    for _ in range(count):
        contract = FiledContractFactory(seller=seller)
        BuyerFactory(contract=contract, position=1)
        BuyerFactory(contract=contract, position=2)


# session, user, TOTP device, organisation, count, one page of contracts (with unit/project joined), buyers
LIST_QUERIES = 7


def test_list_query_count_is_constant(
    operator_client: Client, developer: Organisation, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    _make_contracts(developer, 100)
    for per_page in (10, 100):
        with django_assert_num_queries(LIST_QUERIES):
            response = operator_client.get("/operator/contracts/", {"per_page": per_page})
        assert response.status_code == 200
        assert response.content.decode().count('href="/operator/contracts/') == per_page + 1  # rows + nav link


def test_detail_masks_id_numbers(operator_client: Client, developer: Organisation) -> None:
    contract = contract_with_buyers(2, seller=developer)
    response = operator_client.get(f"/operator/contracts/{contract.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert contract.filing_no in html
    assert contract.unit.building.project.presale_permit_no in html
    for buyer in contract.buyers.all():
        assert buyer.name in html
        assert buyer.id_number not in html
        assert buyer.id_number[-4:] in html
        assert buyer.phone not in html


def test_viewing_a_contract_is_audited(operator_client: Client, operator: User, developer: Organisation) -> None:
    contract = contract_with_buyers(1, seller=developer)
    assert operator_client.get(f"/operator/contracts/{contract.pk}/").status_code == 200
    event = AuditEvent.objects.get(tag="filing.contract.viewed")
    assert (event.object_id, event.actor, event.organisation) == (str(contract.pk), operator, developer)
    assert event.data == {"personal_data": True}


def test_other_companys_contract_is_404(operator_client: Client, other_developer: Organisation) -> None:
    theirs = contract_with_buyers(1, seller=other_developer)
    assert operator_client.get(f"/operator/contracts/{theirs.pk}/").status_code == 404


def test_home_redirects_operator(operator_client: Client, operator: User) -> None:
    response = operator_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/operator/contracts/"


def test_page_size_labels_are_translated_when_shown_not_at_import() -> None:
    labels = [label for _, label in ContractSearchForm().fields["per_page"].choices]
    assert all(isinstance(label, Promise) for label in labels)
    assert [str(label) for label in labels] == ["10 条", "20 条", "50 条", "100 条"]


def test_operator_home_leads_to_the_contracts(operator_client: Client) -> None:
    response = operator_client.get("/operator/")
    assert response.status_code == 302
    assert response["Location"] == "/operator/contracts/"


def test_page_size_shown_is_the_page_size_used(operator: User, operator_client: Client) -> None:
    for n in range(25):
        FiledContractFactory(seller=operator.organisation, contract_no=f"PAGE-{n:03d}", filing_no=f"PAGEB-{n:03d}")
    body = operator_client.get("/operator/contracts/").content.decode()
    assert '<option value="20" selected>' in body
    assert body.count("PAGE-0") == 20


def test_pager_shows_the_pages_around_the_current_one(operator: User, operator_client: Client) -> None:
    for n in range(230):
        FiledContractFactory(seller=operator.organisation, contract_no=f"PG-{n:03d}", filing_no=f"PGB-{n:03d}")
    body = operator_client.get("/operator/contracts/?per_page=10&page=12").content.decode()
    assert 'aria-current="page"' in body
    current = body.split('aria-current="page"')[1][:40]
    assert ">12<" in current.replace(" ", "")
