"""Roles a person can hold in a school or a trust."""

from django.db import models


class Role(models.TextChoices):
    CLASS_TEACHER = "class_teacher", "Class teacher"
    OFFICE_STAFF = "office_staff", "Office staff"
    ATTENDANCE_OFFICER = "attendance_officer", "Attendance officer"
    SENIOR_ATTENDANCE_CHAMPION = "senior_attendance_champion", "Senior attendance champion"
    HEADTEACHER = "headteacher", "Headteacher"
    GOVERNOR = "governor", "Governor / trustee"
    TRUST_OFFICER = "trust_officer", "Trust attendance officer"


# Roles a trust-level membership may carry; each applies to every school in the trust.
TRUST_ROLES = frozenset({Role.TRUST_OFFICER, Role.GOVERNOR})
STAFF_ROLES = frozenset(Role) - {Role.GOVERNOR}
