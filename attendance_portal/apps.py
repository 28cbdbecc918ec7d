from django.apps import AppConfig


class AttendancePortalConfig(AppConfig):
    name = "attendance_portal"
    verbose_name = "Attendance portal"

    def ready(self) -> None:
        from . import permissions  # noqa: F401  (registers the django-rules permissions)
