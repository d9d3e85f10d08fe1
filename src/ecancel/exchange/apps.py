from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "ecancel.exchange"
    label = "exchange"
