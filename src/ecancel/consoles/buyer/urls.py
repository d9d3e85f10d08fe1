from django.urls import path

from ecancel.consoles.buyer import mine, views

app_name = "buyer"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("choose/", views.choose_view, name="choose"),
    path("consent/", views.consent_view, name="consent"),
    path("face/", views.face_view, {"step": "face"}, name="face"),
    path("face/reference/", views.face_reference_view, name="face_reference"),
    path("face/return/", views.face_return_view, name="face_return"),
    path("face-again/", views.face_view, {"step": "face_again"}, name="face_again"),
    path("document-kind/", views.document_kind_view, name="document_kind"),
    path("document-read/", views.document_read_view, name="document_read"),
    path("read/", views.read_view, name="read"),
    path("doc/<slug:key>/", views.document_view, name="document"),
    path("uploads/", views.uploads_view, name="uploads"),
    path("signature/", views.signature_view, name="signature"),
    path("video/", views.video_view, name="video"),
    path("submit/", views.submit_view, name="submit"),
    path("done/", views.done_view, name="done"),
    path("mine/", mine.mine_view, name="mine"),
    path("mine/code/", mine.mine_code_view, name="mine_code"),
    path("mine/verify/", mine.mine_verify_view, name="mine_verify"),
    path("mine/leave/", mine.mine_leave_view, name="mine_leave"),
    path("mine/<uuid:case_id>/", mine.mine_detail_view, name="mine_detail"),
    path("mine/<uuid:case_id>/subscribe/", mine.mine_subscribe_view, name="mine_subscribe"),
    path("mine/<uuid:case_id>/certificate.pdf", mine.mine_certificate_view, name="mine_certificate"),
    path("poll/<slug:purpose>/", views.poll_view, name="poll"),
]
