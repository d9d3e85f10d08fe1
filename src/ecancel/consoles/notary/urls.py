from django.urls import path

from ecancel.consoles.notary import views

app_name = "notary"

urlpatterns = [
    path("", views.case_list_view, name="home"),
    path("cases/<uuid:case_id>/", views.case_detail_view, name="case"),
    path("cases/<uuid:case_id>/status/", views.case_status_view, name="case_status"),
    path("cases/<uuid:case_id>/materials/<uuid:material_id>", views.material_download_view, name="material"),
    path("cases/<uuid:case_id>/documents/<uuid:document_id>", views.document_download_view, name="document"),
]
