from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotaryConfig(AppConfig):
    name = "ecancel.notary"
    label = "notary"
    verbose_name = _("公证")

    def ready(self) -> None:
        from ecancel.notary import handlers

        handlers.register()
