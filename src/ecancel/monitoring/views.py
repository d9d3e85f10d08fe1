"""``/metrics`` for Prometheus: only with the bearer token; otherwise, and with no token set, it does not exist."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from ecancel.core.metrics import exposition, metrics_access_allowed
from ecancel.monitoring.figures import BrokerQueues, BusinessFigures


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_access_allowed(request):
        raise Http404
    return HttpResponse(exposition(BusinessFigures(), BrokerQueues()), content_type=CONTENT_TYPE_LATEST)
