from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CancellationConfig(AppConfig):
    name = "ecancel.cancellation"
    label = "cancellation"
    verbose_name = _("注销申请")

    def ready(self) -> None:
        from ecancel.cancellation import handlers

        handlers.register()
