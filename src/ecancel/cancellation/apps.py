from django.apps import AppConfig


class CancellationConfig(AppConfig):
    name = "ecancel.cancellation"
    label = "cancellation"
