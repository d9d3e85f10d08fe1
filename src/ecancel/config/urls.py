from django.contrib import admin
from django.urls import include, path

from ecancel.core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("exchange/", include("ecancel.exchange.urls")),
]
