"""Serving the kept answers of the busiest API reads (``core.answers``) to the API token that built them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language

from ecancel.accounts.models import TOKEN_PREFIX, ApiToken, hash_token
from ecancel.core.answers import AnswerBuilding, StoreUnreachable, answer_key, answer_store, kept_answer
from ecancel.core.metrics import API_ANSWERS

log = logging.getLogger(__name__)

CACHED_VIEWS: set[str] = set()


def answer_cached(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an API read whose answer depends only on the caller, the path, the query and the language: no audit
    event per call, nothing taken from the clock."""
    CACHED_VIEWS.add(view.__name__)
    return view


class AnswerCacheMiddleware:
    """Serves a marked read's kept answer to the API token that built it while its tables are unchanged, and keeps
    the answer of a call that had to build one. Last in ``MIDDLEWARE``: the language is chosen by then.

    A kept answer is served without reading the token again: building it read the token's row (the API's own
    authentication runs in the view), so the row is among its tables, and revoking the token changes that table.
    Only bearer tokens: a staff session's roles are checked on every call, so its calls always reach the view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        building: tuple[AnswerBuilding, str] | None = getattr(request, "_answer_building", None)
        if building is not None:
            answer, token_hash = building
            # Kept only if that very token was let in: a staff session sending a made-up token beside it is answered
            # by the session, and that answer must not become the made-up token's.
            token = getattr(getattr(request, "auth", None), "token", None)
            let_in = isinstance(token, ApiToken) and token.token_hash == token_hash and not response.streaming
            answer.keep(response.status_code, response.content if let_in else None)
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "GET" or match is None or match.namespace != "api" or match.url_name not in CACHED_VIEWS:
            return None
        store = answer_store()
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        raw = raw.strip()
        if not store.enabled or scheme.lower() != "bearer" or not raw.startswith(TOKEN_PREFIX):
            return None
        token_hash = hash_token(raw)
        key = answer_key(token_hash, get_language(), request.get_full_path())
        try:
            kept = kept_answer(store, key)
            if kept is not None:
                API_ANSWERS.labels(outcome="kept").inc()
                return HttpResponse(kept, content_type="application/json; charset=utf-8")
            request._answer_building = (AnswerBuilding(store, key), token_hash)  # type: ignore[attr-defined]
        except StoreUnreachable:
            API_ANSWERS.labels(outcome="unavailable").inc()
            log.exception("answer cache unreachable: answering without it")
            return None
        API_ANSWERS.labels(outcome="built").inc()
        return None
