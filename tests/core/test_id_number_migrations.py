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
from ecancel.exchange.models import OutboxMessage
from ecancel.filing.models import BuyerParty
from ecancel.identity.models import CheckKind, IdentityCheck
from tests.exchange.conftest import put, refused_body
from tests.factories import DeveloperFactory, NotaryOfficeFactory, contract_with_buyers

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("filing", "0002_cancellation_ref_and_issuing_country"),
    ("accounts", "0002_login_lock_per_address"),
    ("cancellation", "0005_received_certificate"),
    ("notary", "0005_retention"),
    ("identity", "0002_evidence_purged"),
    ("exchange", "0003_peer_document_signing_pins"),
]


def column(table: str, name: str, pk: object) -> str:
    value = raw_column(table, name, pk)
    return bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)


def raw_column(table: str, name: str, pk: object) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        row = cursor.fetchone()
    assert row is not None
    return row[0]


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
    message = put(NotaryOfficeFactory().organisation, DeveloperFactory().organisation, body=refused_body(reason=number))
    sent = bytes(message.raw)
    key = buyer.pk if connection.vendor == "postgresql" else buyer.pk.hex
    check_key = check.pk if connection.vendor == "postgresql" else check.pk.hex
    message_key = message.pk if connection.vendor == "postgresql" else message.pk.hex
    assert number not in column("exchange_outboxmessage", "raw", message_key)

    migrate(BEFORE)
    assert column("filing_buyerparty", "id_number", key) == number
    assert number in column("identity_identitycheck", "details", check_key)
    assert bytes(raw_column("exchange_outboxmessage", "raw", message_key)) == sent  # type: ignore[arg-type]

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    stored = column("filing_buyerparty", "id_number", key)
    assert number not in stored and stored_key_id(stored) is not None
    assert column("filing_buyerparty", "id_number_digest", key) == value_digest(number, kind="id_number")
    assert number not in column("identity_identitycheck", "details", check_key)
    assert BuyerParty.objects.get(pk=buyer.pk).id_number == number
    assert DeveloperCompany.objects.get(pk=company.pk).legal_representative_id_number == legal_rep
    assert IdentityCheck.objects.get(pk=check.pk).details == {"expected_number": number}
    assert number not in column("exchange_outboxmessage", "raw", message_key)
    assert bytes(OutboxMessage.objects.get(pk=message.pk).raw) == sent, "the signed bytes come back exactly"
