"""One application through the API costs the same number of queries however many times it was pushed."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation
from ecancel.accounts.services import api_token_create
from ecancel.cancellation.models import Application, ApplicationPush
from ecancel.cancellation.services.push import application_push
from ecancel.core.context import RequestContext

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client, developer: Organisation) -> Client:
    _, raw = api_token_create(organisation=developer, name="ERP", actor=None, ctx=RequestContext.system())
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def test_detail_query_count_does_not_grow_with_pushes(
    api: Client,
    ready_application: Application,
    notary_office: Organisation,
    actor: Actor,
    ctx: RequestContext,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    application_push(application_id=ready_application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx)
    url = f"/api/filing/applications/{ready_application.pk}"
    api.get(url)  # first use of the token records last_used_at
    # token (with organisation), application, applicants, pushes (office and documents joined), revoke requests,
    # the latest outbox message while it waits for the office
    with django_assert_num_queries(6):
        assert len(api.get(url).json()["pushes"]) == 1
    first = ApplicationPush.objects.get(application=ready_application)
    for version in (2, 3):  # earlier versions as a revoked and corrected application keeps them
        ApplicationPush.objects.create(
            application=ready_application,
            version=version,
            notary_office=first.notary_office,
            message_type="materials.repushed",
            form_document=first.form_document,
            agreement_document=first.agreement_document,
        )
    with django_assert_num_queries(6):
        assert len(api.get(url).json()["pushes"]) == 3
