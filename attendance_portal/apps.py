from django.apps import AppConfig


class AttendancePortalConfig(AppConfig):
    name = "attendance_portal"
    verbose_name = "Attendance portal"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.backends.signals import connection_created

        from . import checks, permissions  # noqa: F401  (registers the deploy checks and django-rules permissions)
        from .dbroles import refuse_privileged_connection

        if settings.DATABASE_REFUSE_PRIVILEGED:
            connection_created.connect(refuse_privileged_connection, dispatch_uid="refuse_privileged_connection")
