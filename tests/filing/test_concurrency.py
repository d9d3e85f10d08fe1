"""Concurrent moves on one contract or one unit: exactly one wins, the rest are refused in words."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connection

from ecancel.accounts.models import Organisation
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError, InvalidTransition, ValidationFailed
from ecancel.filing.models import FiledContract, Unit
from ecancel.filing.services import contract_start_cancellation
from ecancel.filing.transitions import ContractStatus, UnitStatus
from tests.factories import BuildingFactory, DeveloperFactory
from tests.filing.conftest import buyer, file_contract, make_unit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(attempts: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Run the attempts in threads released together; what each returned or raised."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    won: list[object] = []
    refused: list[BaseException] = []
    start = threading.Barrier(len(attempts))

    def run(attempt: Callable[[], object]) -> None:
        try:
            start.wait()
            won.append(attempt())
        except BaseException as exc:  # noqa: BLE001 - sorted by the assertions of each test
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
def seller() -> Organisation:
    return DeveloperFactory().organisation


@pytest.fixture
def free_unit(seller: Organisation) -> Unit:
    return make_unit(BuildingFactory(project__developer=seller), "0801", RequestContext.system())


def test_concurrent_starts_of_one_cancellation_let_exactly_one_through(seller: Organisation, free_unit: Unit) -> None:
    contract = file_contract(seller, free_unit, RequestContext.system())
    won, refused = race(
        [
            lambda: contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=RequestContext.system())
            for _ in range(6)
        ]
    )
    assert len(won) == 1
    assert len(refused) == 5 and all(isinstance(e, InvalidTransition) for e in refused)
    assert all("已在办理注销" in e.zh for e in refused if isinstance(e, DomainError))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELLING


def test_two_contracts_racing_for_one_unit_file_only_one(seller: Organisation, free_unit: Unit) -> None:
    ctx = RequestContext.system()
    won, refused = race(
        [
            lambda n=n: file_contract(
                seller, free_unit, ctx, contract_no=f"RACE-HT-{n}", filing_no=f"RACE-BA-{n}", buyers=[buyer(n + 1)]
            )
            for n in range(4)
        ]
    )
    assert len(won) == 1, refused
    assert len(refused) == 3 and all(isinstance(e, ValidationFailed) and "unit" in e.fields for e in refused)
    free_unit.refresh_from_db()
    assert free_unit.status == UnitStatus.FILED
    assert FiledContract.objects.filter(unit=free_unit).count() == 1
