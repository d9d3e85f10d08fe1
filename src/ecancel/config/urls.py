from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from ecancel.api.main import api_urlpatterns
from ecancel.core import health
from ecancel.documents.urls import pki_urlpatterns
from ecancel.monitoring.views import metrics

handler400 = "ecancel.consoles.errors.bad_request"
handler403 = "ecancel.consoles.errors.permission_denied"
handler404 = "ecancel.consoles.errors.page_not_found"
handler500 = "ecancel.consoles.errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    # The admin has no login of its own: staff log in with lockout and the second factor first.
    path("admin/login/", RedirectView.as_view(pattern_name="consoles:login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", api_urlpatterns()),
    path("operator/", include("ecancel.consoles.operator.urls")),
    path("notary/", include("ecancel.consoles.notary.urls")),
    path("filing/", include("ecancel.consoles.filing.views")),
    path("h/", include("ecancel.buyers.urls")),
    path("b/", include("ecancel.consoles.buyer.urls")),
    path("exchange/", include("ecancel.exchange.urls")),
    path("verify/", include("ecancel.documents.urls")),
    path("pki/", include((pki_urlpatterns, "pki"))),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("ecancel.consoles.urls")),
]
