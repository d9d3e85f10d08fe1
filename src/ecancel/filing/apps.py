from django.apps import AppConfig


class FilingConfig(AppConfig):
    name = "ecancel.filing"
    label = "filing"
    verbose_name = "网签备案"
