from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecancel.accounts.models import Organisation
from ecancel.core.errors import NotFound
from ecancel.filing.models import FiledContract
from ecancel.filing.selectors import contract_get, contract_list, project_list, unit_list
from ecancel.filing.transitions import ContractStatus, UnitStatus
from tests.factories import BuyerFactory, FiledContractFactory, UnitFactory, contract_with_buyers


@pytest.fixture
def contracts(developer: Organisation) -> list[FiledContract]:
    first = FiledContractFactory(
        seller=developer,
        contract_no="ZS2026-A-0001",
        filing_no="BA2026-A-0001",
        unit__room_no="1201",
        unit__building__project__name="翠湖花园",
    )
    BuyerFactory(contract=first, position=1, name="王喆")
    BuyerFactory(contract=first, position=2, name="王玥")
    second = FiledContractFactory(
        seller=developer,
        contract_no="ZS2026-B-0002",
        filing_no="BA2026-B-0002",
        unit__room_no="0803",
        unit__building__project__name="江景名苑",
        status=ContractStatus.CANCELLING,
    )
    BuyerFactory(contract=second, position=1, name="陈堃")
    return [first, second]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ZS2026-A", [0]),
        ("BA2026-B", [1]),
        ("王", [0]),
        ("陈堃", [1]),
        ("1201", [0]),
        ("江景", [1]),
        ("  翠湖花园 ", [0]),
        ("", [0, 1]),
        ("不存在的关键词", []),
    ],
)
def test_contract_list_searches_each_key(
    developer: Organisation, contracts: list[FiledContract], query: str, expected: list[int]
) -> None:
    found = list(contract_list(seller=developer, query=query))
    assert sorted(c.contract_no for c in found) == sorted(contracts[i].contract_no for i in expected)


def test_two_matching_buyers_do_not_repeat_a_contract(developer: Organisation, contracts: list[FiledContract]) -> None:
    assert contract_list(seller=developer, query="王").count() == 1


def test_contract_list_filters_by_status(developer: Organisation, contracts: list[FiledContract]) -> None:
    found = contract_list(seller=developer, status=ContractStatus.CANCELLING)
    assert [c.pk for c in found] == [contracts[1].pk]


def test_contract_list_never_shows_another_sellers_contracts(
    developer: Organisation, other_developer: Organisation, contracts: list[FiledContract]
) -> None:
    theirs = contract_with_buyers(1, seller=other_developer, contract_no="ZS2026-A-0099")
    assert theirs not in contract_list(seller=developer, query="ZS2026-A")
    assert list(contract_list(seller=other_developer)) == [theirs]


def test_contract_list_runs_a_constant_number_of_queries(developer: Organisation) -> None:
    for _ in range(3):
        contract_with_buyers(2, seller=developer)
    with CaptureQueriesContext(connection) as few:
        small = [
            (c.unit.building.project.name, [b.name for b in c.buyers.all()]) for c in contract_list(seller=developer)
        ]
    for _ in range(5):
        contract_with_buyers(3, seller=developer)
    with CaptureQueriesContext(connection) as many:
        large = [
            (c.unit.building.project.name, [b.name for b in c.buyers.all()]) for c in contract_list(seller=developer)
        ]
    assert (len(small), len(large)) == (3, 8)
    assert len(few.captured_queries) == len(many.captured_queries) == 2


def test_contract_get_returns_own_contract(developer: Organisation, contracts: list[FiledContract]) -> None:
    assert contract_get(seller=developer, contract_id=contracts[0].pk) == contracts[0]
    assert contract_get(seller=developer, contract_id=str(contracts[0].pk)) == contracts[0]


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "2f1d4c6e-8a3b-4f5e-9c7d-1a2b3c4d5e6f"])
def test_contract_get_unknown_id_is_not_found(developer: Organisation, bad_id: str) -> None:
    with pytest.raises(NotFound):
        contract_get(seller=developer, contract_id=bad_id)


def test_contract_get_another_sellers_contract_is_not_found(
    developer: Organisation, other_developer: Organisation, contracts: list[FiledContract]
) -> None:
    with pytest.raises(NotFound):
        contract_get(seller=other_developer, contract_id=contracts[0].pk)


def test_units_and_projects_are_scoped_to_the_developer(developer: Organisation, other_developer: Organisation) -> None:
    free = UnitFactory(building__project__developer=developer, status=UnitStatus.AVAILABLE)
    filed = UnitFactory(building__project=free.building.project, status=UnitStatus.FILED)
    UnitFactory(building__project__developer=other_developer)
    assert set(unit_list(developer=developer)) == {free, filed}
    assert list(unit_list(developer=developer, status=UnitStatus.AVAILABLE)) == [free]
    assert list(unit_list(developer=developer, project_id=free.building.project_id, status="filed")) == [filed]
    assert list(project_list(developer=developer)) == [free.building.project]
