"""Every route × every role: who gets 200, who is sent to log in, who gets 401 or 404.

To add a route, append a ``Route`` to ``ROUTES``: give its path (a function of the ``World``,
creating whatever objects it needs with the world's organisations) and the outcome for every
role in ``ROLES``. A route missing a role fails ``test_every_route_names_every_role``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from ecancel.accounts.models import Organisation, OrganisationKind, Role, User
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext
from ecancel.filing.models import FiledContract
from tests.cancellation.matrix import application_routes
from tests.conftest import logged_in_client
from tests.factories import DeveloperFactory, NotaryOfficeFactory, OrganisationFactory, contract_with_buyers

# Outcomes: an HTTP status, or LOGIN for "302 to the login page".
LOGIN = "login"
Outcome = int | str

ANONYMOUS = "anonymous"
OPERATOR = "operator"  # operator of the company that owns the data
OTHER_OPERATOR = "other_operator"  # operator of another developer company
NOTARY_CLERK = "notary_clerk"
FILING_OFFICER = "filing_officer"
OTHER_TOKEN = "other_token"  # API token of another developer company
ROLES = (ANONYMOUS, OPERATOR, OTHER_OPERATOR, NOTARY_CLERK, FILING_OFFICER, OTHER_TOKEN)


@dataclass
class World:
    """The organisations and people every row is checked against; rows add their own objects."""

    developer: Organisation
    other_developer: Organisation
    notary_office: Organisation
    filing_authority: Organisation
    contract: FiledContract
    clients: dict[str, Client] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    name: str
    path: Callable[[World], str]
    expect: dict[str, Outcome]
    method: str = "get"
    data: dict[str, Any] = field(default_factory=dict)


def page(overrides: dict[str, Outcome] | None = None) -> dict[str, Outcome]:
    """A console page: strangers and token holders are sent to log in; staff of other kinds get 404."""
    return {
        ANONYMOUS: LOGIN,
        OPERATOR: 200,
        OTHER_OPERATOR: 404,
        NOTARY_CLERK: 404,
        FILING_OFFICER: 404,
        OTHER_TOKEN: LOGIN,
        **(overrides or {}),
    }


def api(overrides: dict[str, Outcome] | None = None) -> dict[str, Outcome]:
    """An API route: no credentials is 401; everybody outside the owning company gets 404."""
    return {
        ANONYMOUS: 401,
        OPERATOR: 200,
        OTHER_OPERATOR: 404,
        NOTARY_CLERK: 404,
        FILING_OFFICER: 404,
        OTHER_TOKEN: 404,
        **(overrides or {}),
    }


ROUTES: list[Route] = [
    Route("home", lambda w: "/", page({OPERATOR: 302, OTHER_OPERATOR: 302, NOTARY_CLERK: 302, FILING_OFFICER: 302})),
    Route("filing authority's city view", lambda w: "/filing/", page({OPERATOR: 404, FILING_OFFICER: 200})),
    Route(
        "password change",
        lambda w: "/account/password/",
        page({OTHER_OPERATOR: 200, NOTARY_CLERK: 200, FILING_OFFICER: 200}),
    ),
    Route("operator contract list", lambda w: "/operator/contracts/", page({OTHER_OPERATOR: 200})),
    Route("operator contract detail", lambda w: f"/operator/contracts/{w.contract.pk}/", page()),
    Route("api contract list", lambda w: "/api/filing/contracts", api({OTHER_OPERATOR: 200, OTHER_TOKEN: 200})),
    Route("api contract detail", lambda w: f"/api/filing/contracts/{w.contract.pk}", api()),
    *application_routes(Route, page, api, owner=OPERATOR, other=OTHER_OPERATOR, token=OTHER_TOKEN),
]


@pytest.fixture
def world(db: None) -> World:
    developer = DeveloperFactory().organisation
    other_developer = DeveloperFactory().organisation
    notary_office = NotaryOfficeFactory().organisation
    filing_authority = OrganisationFactory(kind=OrganisationKind.FILING_AUTHORITY)
    contract = contract_with_buyers(2, seller=developer)
    w = World(developer, other_developer, notary_office, filing_authority, contract)

    def staff(organisation: Organisation, role: str) -> User:
        # No password hashing: these users never type one, and Argon2 would make every row slow.
        return User.objects.create(username=f"matrix-{role}-{organisation.pk}", organisation=organisation, role=role)

    _, other_raw = api_token_create(
        organisation=other_developer, name="matrix", actor=None, ctx=RequestContext.system()
    )
    w.clients = {
        ANONYMOUS: Client(),
        OPERATOR: logged_in_client(staff(developer, Role.OPERATOR)),
        OTHER_OPERATOR: logged_in_client(staff(other_developer, Role.OPERATOR)),
        NOTARY_CLERK: logged_in_client(staff(notary_office, Role.NOTARY_CLERK)),
        FILING_OFFICER: logged_in_client(staff(filing_authority, Role.FILING_OFFICER)),
        OTHER_TOKEN: Client(HTTP_AUTHORIZATION=f"Bearer {other_raw}"),
    }
    return w


def test_every_route_names_every_role() -> None:
    for route in ROUTES:
        assert set(route.expect) == set(ROLES), route.name


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_route_by_role(world: World, route: Route) -> None:
    path = route.path(world)
    failures = []
    for role in ROLES:
        client = world.clients[role]
        response = getattr(client, route.method)(path, route.data)
        expected = route.expect[role]
        if expected == LOGIN:
            ok = response.status_code == 302 and response["Location"].startswith("/login/")
        else:
            ok = response.status_code == expected
        if not ok:
            failures.append(f"{role}: expected {expected}, got {response.status_code} {response.get('Location', '')}")
    assert not failures, f"{route.name} {path}\n" + "\n".join(failures)
