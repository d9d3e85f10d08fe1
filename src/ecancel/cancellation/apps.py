from django.apps import AppConfig


class CancellationConfig(AppConfig):
    name = "ecancel.cancellation"
    label = "cancellation"
    verbose_name = "注销申请"

    def ready(self) -> None:
        from ecancel.cancellation import handlers

        handlers.register()
