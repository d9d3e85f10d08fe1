"""Notary routes × roles: only the receiving office's staff (and its API tokens) see its cases.

Same shape as ``tests/consoles/test_access_matrix.py`` (an outcome per role per route: a status,
or LOGIN for a redirect to the login page); the roles differ because here the question is
"which office", so another office's clerk is a role of its own. To add a route, append a ``Route``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.test.client import MULTIPART_CONTENT

from ecancel.accounts.models import NotaryOffice, Organisation, OrganisationKind, Role
from ecancel.accounts.services import api_token_create
from ecancel.buyers.services import IssuedHandoff, handoff_issue
from ecancel.core.context import RequestContext
from ecancel.notary.models import NotaryCase
from ecancel.notary.selectors import case_documents
from tests.conftest import logged_in_client
from tests.factories import NotaryOfficeFactory, OrganisationFactory, UserFactory
from tests.notary.helpers import make_case
from tests.notary.review_data import submitted_buyer

LOGIN = "login"
Outcome = int | str

ANONYMOUS = "anonymous"
CLERK = "clerk"  # 公证处受理员 of the office that received the case
NOTARY = "notary"  # 公证员 of the same office
OTHER_OFFICE = "other_office_clerk"
OPERATOR = (
    "seller_operator"  # the seller's own operator: the case is about their contract, still not theirs to read here
)
FILING_OFFICER = "filing_officer"
TOKEN = "office_token"
OTHER_OFFICE_TOKEN = "other_office_token"
SELLER_TOKEN = "seller_token"
ROLES = (ANONYMOUS, CLERK, NOTARY, OTHER_OFFICE, OPERATOR, FILING_OFFICER, TOKEN, OTHER_OFFICE_TOKEN, SELLER_TOKEN)


def page(**overrides: Outcome) -> dict[str, Outcome]:
    outcome: dict[str, Outcome] = {
        ANONYMOUS: LOGIN,
        CLERK: 200,
        NOTARY: 200,
        OTHER_OFFICE: 404,
        OPERATOR: 404,
        FILING_OFFICER: 404,
        TOKEN: LOGIN,
        OTHER_OFFICE_TOKEN: LOGIN,
        SELLER_TOKEN: LOGIN,
    }
    return {**outcome, **{k.lower(): v for k, v in overrides.items()}}


def api(**overrides: Outcome) -> dict[str, Outcome]:
    outcome: dict[str, Outcome] = {
        ANONYMOUS: 401,
        CLERK: 200,
        NOTARY: 200,
        OTHER_OFFICE: 404,
        OPERATOR: 404,
        FILING_OFFICER: 404,
        TOKEN: 200,
        OTHER_OFFICE_TOKEN: 404,
        SELLER_TOKEN: 404,
    }
    return {**outcome, **{k.lower(): v for k, v in overrides.items()}}


def public(status: int = 200) -> dict[str, Outcome]:
    return dict.fromkeys(ROLES, status)


@dataclass
class World:
    case: NotaryCase
    handoff: IssuedHandoff
    clients: dict[str, Client] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    name: str
    path: Callable[[World], str]
    expect: dict[str, Outcome]
    method: str = "get"
    data: dict[str, Any] = field(default_factory=dict)
    content_type: str = MULTIPART_CONTENT


ROUTES: list[Route] = [
    Route("case list", lambda w: "/notary/", page(other_office_clerk=200)),
    Route("case list search", lambda w: f"/notary/?q={w.case.contract_no}", page(other_office_clerk=200)),
    Route("case detail", lambda w: f"/notary/cases/{w.case.pk}/", page()),
    Route("case live progress", lambda w: f"/notary/cases/{w.case.pk}/status/", page()),
    Route("material download", lambda w: f"/notary/cases/{w.case.pk}/materials/{w.extra['material']}", page()),
    Route("material preview", lambda w: f"/notary/cases/{w.case.pk}/materials/{w.extra['material']}?inline=1", page()),
    Route("document download", lambda w: f"/notary/cases/{w.case.pk}/documents/{w.extra['document']}", page()),
    # The review console: every member of the office sees the queue; the evidence only notaries (and the admin,
    # tested in test_review_pages); assigning only the admin.
    Route("review queue", lambda w: "/notary/review/", page(other_office_clerk=200)),
    Route("review case", lambda w: f"/notary/review/{w.case.pk}/", page(clerk=404)),
    Route("review upload", lambda w: f"/notary/review/{w.case.pk}/uploads/{w.extra['upload']}", page(clerk=404)),
    Route(
        "review check file",
        lambda w: f"/notary/review/{w.case.pk}/check-files/{w.extra['check_file']}",
        page(clerk=404),
    ),
    Route("review manifest", lambda w: f"/notary/review/{w.case.pk}/buyers/1/manifest.json", page(clerk=404)),
    Route("review calendar", lambda w: "/notary/review/calendar/", page(clerk=404, notary=404)),
    Route("review assign", lambda w: f"/notary/review/{w.case.pk}/assign/", page(clerk=404, notary=404), method="post"),
    # Only a notary of the office decides; this case still waits for its buyers, so even they are refused.
    Route(
        "review approve",
        lambda w: f"/notary/review/{w.case.pk}/approve/",
        page(clerk=403, notary=409),
        method="post",
        data={"approve-confirmed": "on"},
    ),
    Route(
        "review refuse",
        lambda w: f"/notary/review/{w.case.pk}/refuse/",
        page(clerk=403, notary=409),
        method="post",
        data={"reason_code": "other", "reason_text": "x", "confirmed": "on"},
    ),
    Route("api case list", lambda w: "/api/notary/cases", api(other_office_clerk=200, other_office_token=200)),
    Route("api case detail", lambda w: f"/api/notary/cases/{w.case.pk}", api()),
    # Approving through the API is a notary's own act too: a clerk and a system token are refused (403), and a
    # case still waiting for its buyers is refused even to its notary (409).
    Route(
        "api case approve",
        lambda w: f"/api/notary/cases/{w.case.pk}/approve",
        api(clerk=403, notary=409, office_token=403),
        method="post",
        data={"confirmed": True},
        content_type="application/json",
    ),
    # The journey's pages need a buyer session: staff logins and API tokens are none (checked before the QR
    # landing below, which gives every client one).
    Route("buyer journey", lambda w: "/b/", public(401)),
    Route("buyer document", lambda w: "/b/doc/termination_agreement/", public(401)),
    # 我的 finds a case only through the phone's own proofs: nobody here has any.
    Route("buyer certificate", lambda w: f"/b/mine/{w.case.pk}/certificate.pdf", public(404)),
    # A valid QR link becomes a buyer session and sends the phone on to the journey, whoever opens it.
    Route("qr landing", lambda w: f"/h/{w.handoff.raw}", public(302)),
]


@pytest.fixture
def world(received_case: NotaryCase, seller: Organisation, office: NotaryOffice) -> World:
    other_office = NotaryOfficeFactory().organisation
    filing_authority = OrganisationFactory(kind=OrganisationKind.FILING_AUTHORITY)
    ctx = RequestContext.system("test")
    # The QR link itself went to the seller; issue one the test knows (it replaces the intake's).
    w = World(case=received_case, handoff=handoff_issue(case=received_case, actor=None, ctx=ctx))
    material = received_case.materials.first()
    assert material is not None
    evidence = submitted_buyer(received_case, 1)
    w.extra = {
        "material": material.pk,
        "document": case_documents(received_case)[0].pk,
        "upload": evidence.uploads["holding"].pk,
        "check_file": evidence.files[0].pk,
    }

    def token(organisation: Organisation) -> Client:
        _, raw = api_token_create(organisation=organisation, name="matrix", actor=None, ctx=ctx)
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    w.clients = {
        ANONYMOUS: Client(),
        CLERK: logged_in_client(UserFactory(organisation=office.organisation, role=Role.NOTARY_CLERK, password=None)),
        NOTARY: logged_in_client(UserFactory(organisation=office.organisation, role=Role.NOTARY, password=None)),
        OTHER_OFFICE: logged_in_client(UserFactory(organisation=other_office, role=Role.NOTARY_CLERK, password=None)),
        OPERATOR: logged_in_client(UserFactory(organisation=seller, role=Role.OPERATOR, password=None)),
        FILING_OFFICER: logged_in_client(
            UserFactory(organisation=filing_authority, role=Role.FILING_OFFICER, password=None)
        ),
        TOKEN: token(office.organisation),
        OTHER_OFFICE_TOKEN: token(other_office),
        SELLER_TOKEN: token(seller),
    }
    return w


def test_every_route_names_every_role() -> None:
    for route in ROUTES:
        assert set(route.expect) == set(ROLES), route.name


def test_notary_routes_by_role(world: World) -> None:
    failures = []
    for route in ROUTES:
        path = route.path(world)
        for role in ROLES:
            if route.method == "get":
                response = world.clients[role].get(path, route.data)
            else:
                response = world.clients[role].post(path, route.data, content_type=route.content_type)
            expected = route.expect[role]
            if expected == LOGIN:
                ok = response.status_code == 302 and response["Location"].startswith("/login/")
            else:
                ok = response.status_code == expected
            if not ok:
                failures.append(f"{route.name} {path} {role}: expected {expected}, got {response.status_code}")
    assert not failures, "\n".join(failures)


def test_another_offices_list_does_not_show_the_case(world: World) -> None:
    html = world.clients[OTHER_OFFICE].get("/notary/").content.decode()
    assert world.case.case_number not in html and world.case.contract_no not in html
    body = world.clients[OTHER_OFFICE_TOKEN].get("/api/notary/cases").json()
    assert body["count"] == 0


def test_a_document_of_another_case_is_not_served_through_this_case(
    world: World, office: NotaryOffice, seller: Organisation
) -> None:
    other_case = make_case(office, seller)
    clerk = world.clients[CLERK]
    assert clerk.get(f"/notary/cases/{other_case.pk}/documents/{world.extra['document']}").status_code == 404
    assert clerk.get(f"/notary/cases/{other_case.pk}/materials/{world.extra['material']}").status_code == 404
