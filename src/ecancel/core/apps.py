from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ecancel.core"
    label = "core"
