"""Reads written in SQL give what the ORM gives, on SQLite (the demo's database) and on PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from ecancel.accounts.models import ApiToken, DeveloperCompany, Organisation
from ecancel.accounts.services import api_token_authenticate, api_token_create, api_token_revoke
from ecancel.core.context import RequestContext
from ecancel.core.sql import Loaded, read_first

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

COMPANY_READ = (
    "FROM accounts_developercompany d JOIN accounts_organisation o ON o.id = d.organisation_id"
    " LEFT JOIN accounts_apitoken t ON t.organisation_id = o.id WHERE o.id = %s"
)


def _values(instance: Model) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_a_read_gives_the_instances_the_orm_gives_with_every_value_converted(developer: Organisation) -> None:
    token, raw = api_token_create(organisation=developer, name="ERP", actor=None, ctx=RequestContext())
    api_token_authenticate(raw)  # sets last_used_at: a datetime read back

    found = api_token_authenticate(raw)

    assert found is not None
    assert _values(found) == _values(ApiToken.objects.get(pk=token.pk))
    assert _values(found.organisation) == _values(developer)
    assert found.last_used_at is not None and found.last_used_at.tzinfo is not None


def test_an_encrypted_field_is_read_decrypted_and_a_left_join_without_a_match_gives_none(
    developer: Organisation,
) -> None:
    company = DeveloperCompany.objects.get(organisation=developer)

    found = read_first(
        (Loaded(DeveloperCompany, "d"), Loaded(Organisation, "o", ("name",)), Loaded(ApiToken, "t")),
        COMPANY_READ,
        [developer.pk],
    )

    assert found is not None
    read_company, organisation, token = found
    assert isinstance(read_company, DeveloperCompany)
    assert read_company.legal_representative_id_number == company.legal_representative_id_number
    assert _values(read_company) == _values(company)
    assert isinstance(organisation, Organisation) and organisation.name == developer.name
    assert token is None


def test_fields_left_out_are_loaded_on_first_use(developer: Organisation) -> None:
    found = read_first(
        (Loaded(Organisation, "o", ("name",)),), "FROM accounts_organisation o WHERE o.id = %s", [developer.pk]
    )

    assert found is not None
    (organisation,) = found
    assert isinstance(organisation, Organisation)
    assert organisation.get_deferred_fields() >= {"address", "phone"}
    with CaptureQueriesContext(connection) as seen:
        assert organisation.address == developer.address
    assert len(seen.captured_queries) == 1


def test_no_row_gives_none_and_a_revoked_token_reaches_nothing(developer: Organisation) -> None:
    token, raw = api_token_create(organisation=developer, name="ERP", actor=None, ctx=RequestContext())
    api_token_revoke(token=token, actor=None, ctx=RequestContext())

    assert api_token_authenticate(raw) is None
    assert api_token_authenticate("ect_" + "0" * 43) is None
