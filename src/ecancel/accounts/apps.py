from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ecancel.accounts"
    label = "accounts"
    verbose_name = "机构与人员"

    def ready(self) -> None:
        from ecancel.accounts import signals  # noqa: F401 - connects the login receivers
