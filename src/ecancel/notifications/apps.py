from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "ecancel.notifications"
    label = "notifications"
