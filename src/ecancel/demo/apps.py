from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "ecancel.demo"
    label = "demo"
