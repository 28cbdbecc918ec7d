from django.apps import AppConfig


class AccessLogConfig(AppConfig):
    name = "accesslog"
    verbose_name = "Access log"
