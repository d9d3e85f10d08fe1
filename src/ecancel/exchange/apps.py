from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "ecancel.exchange"
    label = "exchange"
    verbose_name = _("两侧消息")

    def ready(self) -> None:
        from ecancel.exchange.checkpoints import on_audit_checkpoint
        from ecancel.exchange.handlers import register_handler
        from ecancel.exchange.key_rotation import on_exchange_key_announced
        from ecancel.exchange.messages import AuditCheckpoint, ExchangeKeyAnnounced

        register_handler(AuditCheckpoint.TYPE, on_audit_checkpoint)
        register_handler(ExchangeKeyAnnounced.TYPE, on_exchange_key_announced)
