from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "ecancel.documents"
    label = "documents"
