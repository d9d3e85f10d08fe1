from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "ecancel.api"
    label = "api"
