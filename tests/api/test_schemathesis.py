"""A bounded schemathesis run against /api/openapi.json, in-process through the WSGI application.

Every operation gets generated requests that fit the document (positive) and requests that break it
(negative), once with generated ids and once with ids of records the caller owns, sent with a token of
the organisation the route serves. Each answer must be no 500, declared in the document, and shaped as
declared. Examples are derandomised so a run is repeatable; ``max_examples`` bounds the time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.result import Ok

from ecancel.accounts.models import NotaryOffice, Organisation
from ecancel.accounts.services import api_token_create
from ecancel.config.wsgi import application as wsgi_application
from ecancel.core.context import RequestContext
from tests.factories import DeveloperFactory, NotaryOfficeFactory, contract_with_buyers
from tests.notary.helpers import make_case

MAX_EXAMPLES = 6

# Business rules beyond the document (valid ID numbers, the record's state) answer 422 and 409 to
# requests that fit it; those answers are declared, so they are no conformance failure.
POSITIVE_ANSWERS = ["2xx", "401", "403", "404", "409", "422"]


def _token(organisation: Organisation) -> str:
    _, raw = api_token_create(organisation=organisation, name="schemathesis", actor=None, ctx=RequestContext.system())
    return raw


@pytest.fixture
def owned(db: None) -> dict[str, Any]:
    """Two callers, each with a record of every kind its routes address."""
    developer: Organisation = DeveloperFactory().organisation
    office: NotaryOffice = NotaryOfficeFactory()
    contract = contract_with_buyers(2, seller=developer)
    filing_token = _token(developer)
    created = Client(HTTP_AUTHORIZATION=f"Bearer {filing_token}").post(
        "/api/filing/applications", {"contract_id": str(contract.pk)}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    case = make_case(office, developer)
    return {
        "tokens": {"/api/filing/": filing_token, "/api/notary/": _token(office.organisation)},
        "ids": {"contract_id": str(contract.pk), "application_id": created.json()["id"], "case_id": str(case.pk)},
    }


@pytest.fixture
def test_transaction_kept() -> Iterator[None]:
    """The real WSGI handler closes the database connection after each request; Django's test client
    stops that so the test's transaction survives, and so must this in-process run."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _exchange_examples(operation: APIOperation, token: str, owned_ids: dict[str, str]) -> None:
    strategies = [
        operation.as_strategy(generation_mode=mode, path_parameters=ids)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for ids in ({}, owned_ids)
    ]

    @settings(
        max_examples=MAX_EXAMPLES * len(strategies),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def exchange(case: Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

    exchange()


@pytest.mark.postgres
def test_the_api_holds_to_its_document(owned: dict[str, Any], test_transaction_kept: None) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_application)
    schema.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_ANSWERS
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 15
    for operation in operations:
        token = next(t for prefix, t in owned["tokens"].items() if operation.path.startswith(prefix))
        owned_ids = {name: owned["ids"][name] for name in re.findall(r"{(\w+)}", operation.path)}
        _exchange_examples(operation, token, owned_ids)
