from django.apps import AppConfig


class NotaryConfig(AppConfig):
    name = "ecancel.notary"
    label = "notary"
