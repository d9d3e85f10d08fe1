"""The migrations that encrypt ID numbers, run both ways over real rows: backwards they leave plaintext, forwards
they encrypt it and fill the digests (run with ECANCEL_TEST_POSTGRES=1 for PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from ecancel.accounts.models import DeveloperCompany
from ecancel.core.encrypted import stored_key_id, value_digest
from ecancel.filing.models import BuyerParty
from ecancel.identity.models import CheckKind, IdentityCheck
from tests.factories import DeveloperFactory, contract_with_buyers

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("filing", "0002_cancellation_ref_and_issuing_country"),
    ("accounts", "0002_login_lock_per_address"),
    ("cancellation", "0005_received_certificate"),
    ("notary", "0005_retention"),
    ("identity", "0002_evidence_purged"),
]


def column(table: str, name: str, pk: object) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def back_to_latest() -> Iterator[None]:
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_id_numbers_go_back_to_plaintext_and_forward_to_ciphertext(back_to_latest: None) -> None:
    buyer = contract_with_buyers(1).buyers.get()
    number = buyer.id_number
    company = DeveloperFactory()
    legal_rep = company.legal_representative_id_number
    check = IdentityCheck.objects.create(
        case_ref="c",
        party=1,
        kind=CheckKind.DOCUMENT,
        provider="null",
        started_at=timezone.now(),
        details={"expected_number": number},
    )
    key = buyer.pk if connection.vendor == "postgresql" else buyer.pk.hex
    check_key = check.pk if connection.vendor == "postgresql" else check.pk.hex

    migrate(BEFORE)
    assert column("filing_buyerparty", "id_number", key) == number
    assert number in column("identity_identitycheck", "details", check_key)

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    stored = column("filing_buyerparty", "id_number", key)
    assert number not in stored and stored_key_id(stored) is not None
    assert column("filing_buyerparty", "id_number_digest", key) == value_digest(number, kind="id_number")
    assert number not in column("identity_identitycheck", "details", check_key)
    assert BuyerParty.objects.get(pk=buyer.pk).id_number == number
    assert DeveloperCompany.objects.get(pk=company.pk).legal_representative_id_number == legal_rep
    assert IdentityCheck.objects.get(pk=check.pk).details == {"expected_number": number}
