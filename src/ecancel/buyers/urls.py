from django.urls import path

from ecancel.buyers import views

app_name = "buyers"

urlpatterns = [
    path("<str:token>", views.handoff_view, name="handoff"),
]
