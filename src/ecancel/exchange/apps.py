from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "ecancel.exchange"
    label = "exchange"

    def ready(self) -> None:
        from ecancel.exchange.checkpoints import on_audit_checkpoint
        from ecancel.exchange.handlers import register_handler
        from ecancel.exchange.messages import AuditCheckpoint

        register_handler(AuditCheckpoint.TYPE, on_audit_checkpoint)
