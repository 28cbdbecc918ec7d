"""Reads of attendance figures. Every figure is one set-based SQL statement filtered by school_id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from attendance_portal.models import School, Trust
from registers import codes
from registers.selectors import academic_year_for


@dataclass(frozen=True)
class Headline:
    period_from: dt.date
    period_to: dt.date
    enrolments: int
    possible: int
    attendance: int
    persistent_absence: int
    severe_absence: int

    @property
    def attendance_rate(self) -> float | None:
        return round(100 * self.attendance / self.possible, 2) if self.possible else None


_HEADLINE_SQL = """
WITH per_enrolment AS (
    SELECT enrolment_id,
           count(*) FILTER (WHERE code = ANY(%(possible)s)) AS possible,
           count(*) FILTER (WHERE code = ANY(%(attendance)s)) AS attendance
      FROM registers_mark
     WHERE school_id = %(school_id)s AND date BETWEEN %(start)s AND %(end)s
     GROUP BY enrolment_id
)
SELECT count(*) FILTER (WHERE possible > 0),
       coalesce(sum(possible), 0),
       coalesce(sum(attendance), 0),
       count(*) FILTER (WHERE possible > 0 AND 10 * (possible - attendance) >= possible),
       count(*) FILTER (WHERE possible > 0 AND 2 * (possible - attendance) >= possible)
  FROM per_enrolment
"""


def school_headline(*, school: School, on: dt.date | None = None) -> Headline | None:
    """Academic year to date: attendance rate, persistent and severe absence counts."""
    today = on or timezone.localdate()
    year = academic_year_for(school=school, day=today)
    if year is None:
        return None
    end = min(today, year.end)
    with connection.cursor() as cursor:
        cursor.execute(
            _HEADLINE_SQL,
            {
                "possible": sorted(codes.POSSIBLE),
                "attendance": sorted(codes.ATTENDANCE),
                "school_id": school.pk,
                "start": year.start,
                "end": end,
            },
        )
        enrolments, possible, attendance, pa, sa = cursor.fetchone()
    return Headline(year.start, end, enrolments, possible, attendance, pa, sa)


def trust_school_headlines(*, trust: Trust) -> list[tuple[School, Headline | None]]:
    return [(school, school_headline(school=school)) for school in trust.schools.all()]
