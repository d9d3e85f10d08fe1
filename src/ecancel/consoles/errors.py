"""Error pages in the console look, and the API's error shape for /api/ addresses; never a trace."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from ecancel.api.errors import status_response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return status_response(400)
    return HttpResponse(loader.render_to_string("400.html", request=request), status=400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return status_response(403)
    return HttpResponse(loader.render_to_string("403.html", request=request), status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return status_response(404)
    return HttpResponse(loader.render_to_string("404.html", request=request), status=404)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without context processors or the user: whatever broke must not break this page too."""
    if _is_api(request):
        return status_response(500)
    return HttpResponse(loader.render_to_string("500.html"), status=500)
