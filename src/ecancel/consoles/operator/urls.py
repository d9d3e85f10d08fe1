from django.urls import include, path

from ecancel.consoles.operator import views

app_name = "operator"

urlpatterns = [
    path("contracts/", views.contract_list_view, name="contracts"),
    path("contracts/<uuid:contract_id>/", views.contract_detail_view, name="contract"),
    path("", include("ecancel.consoles.operator.applications")),
]
