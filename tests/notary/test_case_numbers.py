"""Case numbers (2026)中证受字第0001号 and certificate numbers: a counter per office and year, never reused."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.notary.models import CaseNumberCounter
from ecancel.notary.services.approval import certificate_number_allocate, format_certificate_number
from ecancel.notary.services.intake import case_number_allocate, format_case_number
from tests.factories import DeveloperFactory, NotaryOfficeFactory
from tests.notary.helpers import make_case

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_format() -> None:
    assert format_case_number("中证受字", 2026, 1) == "(2026)中证受字第0001号"
    assert format_case_number("粤中证受字", 2027, 12345) == "(2027)粤中证受字第12345号"


@pytest.mark.django_db
def test_numbers_count_per_office_and_restart_each_year() -> None:
    first, second = NotaryOfficeFactory(case_prefix="中证受字"), NotaryOfficeFactory(case_prefix="石证受字")
    in_2026 = dt.datetime(2026, 6, 1, 10, tzinfo=SHANGHAI)
    with transaction.atomic():
        numbers = [case_number_allocate(office=first, at=in_2026)[2] for _ in range(3)]
        other = case_number_allocate(office=second, at=in_2026)[2]
        # 31 December 23:30 in Beijing is still 2026 although it is 15:30 UTC; 1 January 00:30 is 2027.
        new_year_eve = case_number_allocate(office=first, at=dt.datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI))
        new_year = case_number_allocate(office=first, at=dt.datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI))
    assert numbers == ["(2026)中证受字第0001号", "(2026)中证受字第0002号", "(2026)中证受字第0003号"]
    assert other == "(2026)石证受字第0001号"
    assert new_year_eve == (2026, 4, "(2026)中证受字第0004号")
    assert new_year == (2027, 1, "(2027)中证受字第0001号")
    assert CaseNumberCounter.objects.get(office=first, year=2026).last == 4


@pytest.fixture
def seller_org(db: None) -> Organisation:
    return DeveloperFactory().organisation


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["case_number", "sequence"])
def test_database_refuses_a_number_twice(seller_org: Organisation, field: str) -> None:
    office = NotaryOfficeFactory()
    first, second = make_case(office, seller_org), make_case(office, seller_org)
    setattr(second, field, getattr(first, field))
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save(update_fields=[field])


Allocate = Callable[..., tuple[int, int, str]]
NUMBERS: dict[str, tuple[Allocate, Callable[[str, int, int], str], str]] = {
    "case": (case_number_allocate, format_case_number, "case_prefix"),
    "certificate": (certificate_number_allocate, format_certificate_number, "certificate_prefix"),
}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", NUMBERS)
def test_concurrent_allocations_never_share_a_number(kind: str) -> None:
    """Eight clerks (or notaries) taking five numbers each at the same moment: forty numbers, no gap, none twice."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    allocate, format_number, prefix = NUMBERS[kind]
    office: NotaryOffice = NotaryOfficeFactory()
    at = dt.datetime(2026, 5, 1, 9, tzinfo=SHANGHAI)
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(5):
                with transaction.atomic():
                    results.append(allocate(office=office, at=at)[2])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 40 and len(set(results)) == 40
    assert sorted(results) == [format_number(getattr(office, prefix), 2026, n) for n in range(1, 41)]
