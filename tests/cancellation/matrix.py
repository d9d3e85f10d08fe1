"""Rows of the route × role matrix (tests/consoles/test_access_matrix.py) for the application routes.

Only reads here: every move is refused to outsiders in tests/cancellation/test_pages.py and test_api_drafting.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecancel.accounts.actors import Actor
from ecancel.cancellation.models import Application
from ecancel.cancellation.services.drafting import application_create
from ecancel.core.context import RequestContext

Expect = Callable[..., dict[str, Any]]


def application(world: Any) -> Application:
    """One draft application on the world's contract, made once per world."""
    if "application" not in world.cache:
        world.cache["application"] = application_create(
            contract_id=world.contract.pk,
            actor=Actor(organisation=world.developer, label="matrix"),
            ctx=RequestContext.system(),
        )
    found: Application = world.cache["application"]
    return found


def application_routes(
    route: Callable[..., Any], page: Expect, api: Expect, *, owner: str, other: str, token: str
) -> list[Any]:
    def base(w: Any) -> str:
        return f"/operator/applications/{application(w).pk}/"

    def api_base(w: Any) -> str:
        return f"/api/filing/applications/{application(w).pk}"

    return [
        route("operator application list", lambda w: "/operator/applications/", page({other: 200})),
        route("operator application detail", base, page()),
        route("operator new application", lambda w: f"/operator/contracts/{w.contract.pk}/cancellation/new/", page()),
        route("operator push confirm", lambda w: f"{base(w)}push/", page()),
        # A draft cannot be revoked: its confirm page sends the owner back to the application.
        route("operator revoke confirm (draft)", lambda w: f"{base(w)}revoke/", page({owner: 302})),
        route("operator remove agent (none)", lambda w: f"{base(w)}agent/remove/", page({owner: 302})),
        route("operator live status", lambda w: f"{base(w)}status/", page()),
        route("operator abandon confirm", lambda w: f"{base(w)}abandon/", page()),
        route("operator QR print (no QR yet)", lambda w: f"{base(w)}qr/print", page({owner: 404})),
        route("operator power of attorney (none)", lambda w: f"{base(w)}agent/power-of-attorney/", page({owner: 404})),
        route("operator generated document (none)", lambda w: f"{base(w)}documents/1/form/", page({owner: 404})),
        route("api application list", lambda w: "/api/filing/applications", api({other: 200, token: 200})),
        route("api application detail", api_base, api()),
        route("api application checks", lambda w: f"{api_base(w)}/checks", api()),
        # No certificate came back yet: the owner hears so, everyone else finds no application.
        route("api certificate (none yet)", lambda w: f"{api_base(w)}/certificate.pdf", api({owner: 404})),
        route("operator certificate (none yet)", lambda w: f"{base(w)}certificate.pdf", page({owner: 404})),
        route("api notary offices", lambda w: "/api/filing/notary-offices", api({other: 200, token: 200})),
    ]
