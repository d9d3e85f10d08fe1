from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "ecancel.identity"
    label = "identity"
