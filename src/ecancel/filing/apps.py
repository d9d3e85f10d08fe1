from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilingConfig(AppConfig):
    name = "ecancel.filing"
    label = "filing"
    verbose_name = _("网签备案")
