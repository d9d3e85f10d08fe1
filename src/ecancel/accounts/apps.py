from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "ecancel.accounts"
    label = "accounts"
    verbose_name = _("机构与人员")

    def ready(self) -> None:
        from ecancel.accounts import signals  # noqa: F401 - connects the login receivers
