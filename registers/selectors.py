"""Reads for calendars, register times, pupils and marks."""

from __future__ import annotations

import datetime as dt

from attendance_portal.models import School

from .models import AcademicYear, SchoolPolicy


def academic_year_for(*, school: School, day: dt.date) -> AcademicYear | None:
    """The academic year containing `day`, or the latest one that started before it."""
    found = AcademicYear.objects.filter(school=school, start__lte=day, end__gte=day).first()
    if found is None:
        found = AcademicYear.objects.filter(school=school, start__lte=day).order_by("-start").first()
    return found


def policy_for(*, school: School, day: dt.date) -> SchoolPolicy:
    """The policy in force on `day`; an unsaved default policy when the school has none yet."""
    found = SchoolPolicy.objects.filter(school=school, effective_from__lte=day).order_by("-effective_from").first()
    return found or SchoolPolicy(school=school, effective_from=day)
