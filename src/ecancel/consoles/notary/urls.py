from django.urls import path

from ecancel.consoles.notary import review, views

app_name = "notary"

urlpatterns = [
    path("", views.case_list_view, name="home"),
    path("cases/<uuid:case_id>/", views.case_detail_view, name="case"),
    path("cases/<uuid:case_id>/status/", views.case_status_view, name="case_status"),
    path("cases/<uuid:case_id>/materials/<uuid:material_id>", views.material_download_view, name="material"),
    path("cases/<uuid:case_id>/documents/<uuid:document_id>", views.document_download_view, name="document"),
    path("review/", review.review_queue_view, name="review_queue"),
    path("review/calendar/", review.calendar_view, name="review_calendar"),
    path("review/calendar/<uuid:entry_id>/remove/", review.calendar_remove_view, name="review_calendar_remove"),
    path("review/<uuid:case_id>/", review.case_review_view, name="review_case"),
    path("review/<uuid:case_id>/assign/", review.case_assign_view, name="review_assign"),
    path("review/<uuid:case_id>/refuse/", review.case_refuse_view, name="review_refuse"),
    path("review/<uuid:case_id>/approve/", review.case_approve_view, name="review_approve"),
    path(
        "review/<uuid:case_id>/certificate/resend/",
        review.certificate_resend_view,
        name="review_certificate_resend",
    ),
    path("review/<uuid:case_id>/uploads/<uuid:upload_id>", review.upload_file_view, name="review_upload"),
    path("review/<uuid:case_id>/check-files/<int:evidence_id>", review.check_file_view, name="review_check_file"),
    path(
        "review/<uuid:case_id>/buyers/<int:position>/manifest.<str:part>",
        review.manifest_view,
        name="review_manifest",
    ),
]
