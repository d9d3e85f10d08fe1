from django.urls import path

from ecancel.documents import views

app_name = "documents"

urlpatterns = [
    path("", views.verify, name="verify"),
]
