from django.apps import AppConfig


class SelfTestConfig(AppConfig):
    name = "ecancel.selftest"
    label = "selftest"
