"""The filing authority's city-wide view (issue 13, item 7): every developer's applications with one status line
across both sides, search, and the figures; filing officers only, read-only, constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, Role
from ecancel.cancellation.city import city_figures, notary_due_date
from ecancel.cancellation.models import Application, ApplicationPush
from ecancel.cancellation.services.drafting import application_create
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from tests.cancellation.conftest import accepted_body, answer_body, notary_says
from tests.conftest import logged_in_client
from tests.factories import UserFactory, contract_with_buyers

pytestmark = pytest.mark.django_db


def officer(filing_authority: Organisation) -> Client:
    return logged_in_client(UserFactory(organisation=filing_authority, role=Role.FILING_OFFICER))


def drafts(seller: Organisation, count: int, ctx: RequestContext) -> list[Application]:
    actor = Actor.staff(UserFactory(organisation=seller, role=Role.OPERATOR))
    return [
        application_create(contract_id=contract_with_buyers(2, seller=seller).pk, actor=actor, ctx=ctx)
        for _ in range(count)
    ]


def test_every_developers_applications_are_listed_and_searched(
    filing_authority: Organisation, developer: Organisation, other_developer: Organisation, ctx: RequestContext
) -> None:
    ours, theirs = drafts(developer, 1, ctx)[0], drafts(other_developer, 1, ctx)[0]
    client = officer(filing_authority)
    html = client.get("/filing/").content.decode()
    assert ours.number in html and theirs.number in html, "the city view spans every developer"
    found = client.get("/filing/", {"q": other_developer.name}).content.decode()
    assert theirs.number in found and ours.number not in found
    by_buyer = client.get("/filing/", {"q": ours.applicants.first().name}).content.decode()
    assert ours.number in by_buyer


def test_only_filing_officers_see_it(
    filing_authority: Organisation, developer: Organisation, operator_client: Client, notary_client: Client
) -> None:
    assert operator_client.get("/filing/").status_code in (403, 404)
    assert notary_client.get("/filing/").status_code in (403, 404)
    assert officer(filing_authority).post("/filing/").status_code == 405, "read-only"


def test_queries_do_not_grow_with_the_page(
    filing_authority: Organisation, developer: Organisation, ctx: RequestContext
) -> None:
    drafts(developer, 2, ctx)
    client = officer(filing_authority)
    client.get("/filing/")
    with CaptureQueriesContext(connection) as few:
        client.get("/filing/")
    drafts(developer, 8, ctx)
    with CaptureQueriesContext(connection) as many:
        client.get("/filing/")
    assert len(many) == len(few)


def test_due_date_and_figures(
    ready_application: Application,
    notary_office: Organisation,
    developer: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    from ecancel.cancellation.services.push import application_push

    application_push(application_id=ready_application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx)
    body = accepted_body(ready_application)
    accepted = timezone.make_aware(dt.datetime(2026, 12, 4, 10, 0))  # a Friday
    body["accepted_at"] = accepted.isoformat()
    notary_says(notary_office, developer, "case.accepted", body)
    ApplicationPush.objects.filter(application=ready_application).update(created_at=accepted - dt.timedelta(hours=2))
    ready_application.refresh_from_db()
    assert ready_application.status == ApplicationStatus.AWAITING_BUYERS
    # 15 working days after Friday 4 December, weekends off: Friday 25 December.
    assert notary_due_date(ready_application) == dt.date(2026, 12, 25)
    figures = city_figures()
    assert dict(figures.by_status)["待买受人认证"] == 1
    first_step = figures.steps[0]
    assert (first_step.median_hours, first_step.cases) == (2.0, 1)
    assert dict(figures.refusals)["身份核验不一致"] == 0

    refusal = answer_body(
        ready_application,
        case_ref=body["case_ref"],
        case_no=body["case_no"],
        code="refused",
        reason_code="identity_mismatch",
        reason="人像不符",
        refused_at=timezone.now().isoformat(),
    )
    notary_says(notary_office, developer, "case.refused", refusal)
    figures = city_figures()
    assert dict(figures.refusals)["身份核验不一致"] == 1
    assert dict(figures.by_status)["不予办理"] == 1
