"""The product's URLs plus one bare django-ninja endpoint, ``GET /bare/ping``, mounted only by the HTTP benchmark.

The bare endpoint runs through the same middleware as every product page and API call but does no work of its own:
``benchmarks/throughput.py`` reports every endpoint's throughput as a share of it.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI

from ecancel.config.urls import urlpatterns as product_urlpatterns

bare_api = NinjaAPI(title="bare", urls_namespace="bare", docs_url=None, openapi_url=None)


@bare_api.get("/ping")
def ping(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}


urlpatterns: list[URLPattern | URLResolver] = [path("bare/", bare_api.urls), *product_urlpatterns]
