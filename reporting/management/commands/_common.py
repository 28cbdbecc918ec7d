"""Argument checks shared by the reporting commands: a clear message and a non-zero exit on bad input."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError

from attendance_portal.models import School


def school_from_slug(slug: str) -> School:
    school = School.objects.filter(slug=slug).first()
    if school is None:
        raise CommandError(f"Unknown school {slug!r}: give the slug of an existing school.")
    return school


def date_from_text(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else _bad_date(value, option)
    except ValueError:
        return _bad_date(value, option)


def _bad_date(value: str, option: str) -> dt.date:
    raise CommandError(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. 2025-09-01.")
