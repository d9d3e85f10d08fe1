from django.apps import AppConfig


class BuyersConfig(AppConfig):
    name = "ecancel.buyers"
    label = "buyers"
