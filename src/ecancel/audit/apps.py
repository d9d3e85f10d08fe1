from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ecancel.audit"
    label = "audit"
    verbose_name = "审计"
