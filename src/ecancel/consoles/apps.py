from django.apps import AppConfig


class ConsolesConfig(AppConfig):
    name = "ecancel.consoles"
    label = "consoles"
