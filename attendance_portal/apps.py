from django.apps import AppConfig


class AttendancePortalConfig(AppConfig):
    name = "attendance_portal"
    verbose_name = "Attendance portal"

    def ready(self) -> None:
        from . import checks, permissions  # noqa: F401  (registers the deploy checks and django-rules permissions)
