"""Reads for calendars, register times, pupils and marks."""

from __future__ import annotations

import datetime as dt

from attendance_portal.models import School

from .models import AcademicYear


def academic_year_for(*, school: School, day: dt.date) -> AcademicYear | None:
    """The academic year containing `day`, or the latest one that started before it."""
    found = AcademicYear.objects.filter(school=school, start__lte=day, end__gte=day).first()
    if found is None:
        found = AcademicYear.objects.filter(school=school, start__lte=day).order_by("-start").first()
    return found
