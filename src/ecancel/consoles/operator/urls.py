from django.urls import include, path
from django.views.generic import RedirectView

from ecancel.consoles.operator import views

app_name = "operator"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="operator:contracts"), name="home"),
    path("contracts/", views.contract_list_view, name="contracts"),
    path("contracts/<uuid:contract_id>/", views.contract_detail_view, name="contract"),
    path("", include("ecancel.consoles.operator.applications")),
]
