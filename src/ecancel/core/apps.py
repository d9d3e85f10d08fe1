from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _

# Apps from libraries that show a section in /admin/, named in the page's language like ours.
LIBRARY_APP_NAMES = {"django_otp": _("双因素认证"), "otp_totp": _("动态口令设备")}


class CoreConfig(AppConfig):
    name = "ecancel.core"
    label = "core"
    verbose_name = _("系统")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from ecancel.core.answers import watch_connection

        connection_created.connect(watch_connection, dispatch_uid="ecancel.core.answers")
        for config in apps.get_app_configs():
            if config.label in LIBRARY_APP_NAMES:
                config.verbose_name = LIBRARY_APP_NAMES[config.label]
