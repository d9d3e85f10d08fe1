from django.apps import AppConfig


class NotaryConfig(AppConfig):
    name = "ecancel.notary"
    label = "notary"

    def ready(self) -> None:
        from ecancel.notary import handlers

        handlers.register()
