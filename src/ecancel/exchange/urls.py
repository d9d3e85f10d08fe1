from django.urls import path

from ecancel.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.receive, name="receive"),
]
