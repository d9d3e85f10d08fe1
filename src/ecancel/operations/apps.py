from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "ecancel.operations"
    label = "operations"

    def ready(self) -> None:
        from ecancel.operations import backends, checks  # noqa: F401 - registers the checks
