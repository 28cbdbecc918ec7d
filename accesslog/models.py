"""The access log: who opened which pupil's personal data, and every export.

Rows are only ever added (`accesslog.services.access_record`). A database trigger refuses any UPDATE or
DELETE of a row, whatever the role and whatever `pgtrigger.ignore` says, so the log cannot be tidied
after the fact. The user and pupil are kept by id without a foreign-key constraint, with the user's
name as it was, so deleting an account or a pupil never needs to touch (and so never fails on) the log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from attendance_portal.tenancy import SchoolOwned


class AccessKind(models.TextChoices):
    SENSITIVE = "sensitive", "Sensitive details"
    EVIDENCE = "evidence", "Evidence file"
    LETTER = "letter", "Letter"
    EXPORT = "export", "Export"


class AccessRecord(SchoolOwned):
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=AccessKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                             db_constraint=False, related_name="+")
    user_name = models.CharField(max_length=200, help_text="Who, as their name was at the time.")
    pupil = models.ForeignKey("registers.Pupil", null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    what = models.CharField(max_length=300, help_text="What was opened or exported, in words.")
    path = models.CharField(max_length=500, blank=True, help_text="The page or command it was opened through.")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["school", "-at"], name="access_school_at"),
            models.Index(fields=["school", "user", "-at"], name="access_school_user_at"),
            models.Index(fields=["school", "pupil", "-at"], name="access_school_pupil_at"),
        ]

    def __str__(self) -> str:
        return f"{self.user_name} · {self.get_kind_display()} · {self.what}"
