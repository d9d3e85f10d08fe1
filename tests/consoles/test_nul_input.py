"""NUL typed into the console pages: forms refuse it (Django's CharField), so nothing reaches the database or the
audit log, and no page answers 500 — on PostgreSQL, which cannot store NUL, as on SQLite."""

from __future__ import annotations

import pytest
from django.test import Client

from ecancel.accounts.models import Organisation, User
from ecancel.audit.models import AuditEvent
from tests.conftest import logged_in_client
from tests.factories import contract_with_buyers

NUL = "李\x00明"


@pytest.mark.postgres
@pytest.mark.parametrize("url", ["/operator/contracts/", "/operator/applications/"])
def test_operator_searches_with_nul(operator: User, url: str) -> None:
    response = logged_in_client(operator).get(url, {"q": NUL, "page": "9" * 30})
    assert response.status_code == 200


@pytest.mark.postgres
def test_notary_search_with_nul(notary_clerk: User) -> None:
    response = logged_in_client(notary_clerk).get("/notary/", {"q": NUL})
    assert response.status_code == 200


@pytest.mark.postgres
def test_login_with_nul_records_nothing(client: Client, db: None) -> None:
    before = AuditEvent.objects.count()
    response = client.post("/login/", {"username": NUL, "password": "x\x00" * 8})
    assert response.status_code == 200
    assert AuditEvent.objects.count() == before


@pytest.mark.postgres
def test_verify_lookup_with_nul(client: Client, db: None) -> None:
    response = client.get("/verify/", {"no": NUL, "code": "\x00"})
    assert response.status_code == 400


@pytest.mark.postgres
def test_nul_in_the_user_agent_is_not_a_500(operator: User, developer: Organisation) -> None:
    contract = contract_with_buyers(1, seller=developer)
    response = logged_in_client(operator).get(f"/operator/contracts/{contract.pk}/", HTTP_USER_AGENT="curl\x00/8")
    assert response.status_code == 200
