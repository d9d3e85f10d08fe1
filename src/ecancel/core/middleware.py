"""Turn a DomainError that escaped a view into a page or JSON a person can act on."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from ecancel.core.errors import DomainError


class FriendlyErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if request.path.startswith("/api/") or request.path.startswith("/exchange/"):
            return JsonResponse(exception.as_payload(), status=exception.http_status)
        return render(request, "error.html", {"error": exception}, status=exception.http_status)
