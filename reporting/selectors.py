# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""Reads of attendance figures, from the summaries (see `reporting.figures`).

Every statement filters `school_id`; groups are sums over enrolments, and enrolments with no possible
sessions are left out of every count (DfE methodology).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields

from django.db import connection
from django.utils import timezone

from attendance_portal.models import School, Trust
from registers.calendar import SchoolCalendar, calendar_for

from .figures import Figures, persistent_sql, range_figures_sql, severe_sql
from .models import FIGURE_FIELDS, AttendanceSignal, CalculationRun
from .signal_rules import Signal, signals_compute


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


@dataclass(frozen=True)
class EnrolmentFigures:
    enrolment_id: int
    upn: str
    figures: Figures


@dataclass(frozen=True)
class GroupFigures:
    """Sums over the enrolments of a group with at least one possible session."""

    group: str
    enrolments: int
    persistent_absence: int
    severe_absence: int
    figures: Figures

    @property
    def persistent_absence_rate(self) -> float:
        return round(100 * self.persistent_absence / self.enrolments, 2) if self.enrolments else 0.0

    @property
    def severe_absence_rate(self) -> float:
        return round(100 * self.severe_absence / self.enrolments, 2) if self.enrolments else 0.0


# Cohort groupings: SQL over the pupil (alias p) giving the group label.
GROUPINGS: dict[str, str] = {
    "school": "'school'",
    "year_group": "p.year_group",
    "registration_group": "coalesce(g.name, '')",
    "sen": "p.sen",
    "fsm": "CASE WHEN p.fsm THEN 'fsm' ELSE 'not_fsm' END",
    "eal": "CASE WHEN p.eal THEN 'eal' ELSE 'not_eal' END",
    "looked_after": "CASE WHEN p.looked_after THEN 'looked_after' ELSE 'not_looked_after' END",
    "child_in_need": "CASE WHEN p.child_in_need THEN 'child_in_need' ELSE 'not_child_in_need' END",
}


def enrolment_figures(*, school: School, start: dt.date, end: dt.date,
                      calendar: SchoolCalendar | None = None) -> list[EnrolmentFigures]:
    """Every enrolment with at least one possible session in [start, end], sorted by UPN."""
    calendar = calendar or calendar_for(school=school)
    sql, params = range_figures_sql(calendar, start, end)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT f.enrolment_id, p.upn, {', '.join(f'f.{x}' for x in FIGURE_FIELDS)}
              FROM ({sql}) f
              JOIN registers_enrolment e ON e.id = f.enrolment_id AND e.school_id = %(school)s
              JOIN registers_pupil p ON p.id = e.pupil_id AND p.school_id = %(school)s
             WHERE f.possible > 0
             ORDER BY p.upn, e.admission_date, f.enrolment_id""", {**params, "school": school.pk})
        return [EnrolmentFigures(row[0], row[1], Figures(*row[2:])) for row in cursor.fetchall()]


def figures_by_enrolment(*, school: School, enrolment_ids: Sequence[int], start: dt.date, end: dt.date,
                         calendar: SchoolCalendar | None = None) -> dict[int, Figures]:
    """Figures per enrolment for [start, end], in one statement for all the enrolments given."""
    if not enrolment_ids or end < start:
        return {}
    calendar = calendar or calendar_for(school=school)
    sql, params = range_figures_sql(calendar, start, end)
    with connection.cursor() as cursor:
        columns = ", ".join(f"f.{x}" for x in FIGURE_FIELDS)
        cursor.execute(f"SELECT f.enrolment_id, {columns} FROM ({sql}) f WHERE f.enrolment_id = ANY(%(ids)s)",
                       {**params, "school": school.pk, "ids": list(enrolment_ids)})
        return {row[0]: Figures(*row[1:]) for row in cursor.fetchall()}


def figures_by_pupil(*, school: School, pupil_ids: Sequence[int], start: dt.date, end: dt.date,
                     calendar: SchoolCalendar | None = None) -> dict[int, Figures]:
    """Figures per pupil for [start, end], summed over the pupil's enrolments at this school; one statement."""
    if not pupil_ids or end < start:
        return {}
    calendar = calendar or calendar_for(school=school)
    sql, params = range_figures_sql(calendar, start, end)
    sums = ", ".join(f"sum(f.{name})::int" for name in FIGURE_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT e.pupil_id, {sums}
              FROM ({sql}) f JOIN registers_enrolment e ON e.id = f.enrolment_id AND e.school_id = %(school)s
             WHERE e.pupil_id = ANY(%(pupils)s)
             GROUP BY e.pupil_id""", {**params, "school": school.pk, "pupils": list(pupil_ids)})
        return {row[0]: Figures(*row[1:]) for row in cursor.fetchall()}


def group_figures(*, school: School, start: dt.date, end: dt.date, by: str = "school",
                  calendar: SchoolCalendar | None = None) -> list[GroupFigures]:
    """Figures per group (see GROUPINGS) for [start, end]: sums of sessions, counts of PA and SA."""
    label = GROUPINGS[by]
    calendar = calendar or calendar_for(school=school)
    sql, params = range_figures_sql(calendar, start, end)
    sums = ", ".join(f"sum(f.{x})::int" for x in FIGURE_FIELDS)
    absence = "(f.authorised + f.unauthorised)"
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT {label} AS grp, count(*),
                   count(*) FILTER (WHERE {persistent_sql(absence, 'f.possible')}),
                   count(*) FILTER (WHERE {severe_sql(absence, 'f.possible')}), {sums}
              FROM ({sql}) f
              JOIN registers_enrolment e ON e.id = f.enrolment_id AND e.school_id = %(school)s
              JOIN registers_pupil p ON p.id = e.pupil_id AND p.school_id = %(school)s
              LEFT JOIN registers_registrationgroup g ON g.id = p.registration_group_id AND g.school_id = %(school)s
             WHERE f.possible > 0
             GROUP BY grp ORDER BY grp""", {**params, "school": school.pk})
        return [GroupFigures(row[0], row[1], row[2], row[3], Figures(*row[4:])) for row in cursor.fetchall()]


def school_figures(*, school: School, start: dt.date, end: dt.date,
                   calendar: SchoolCalendar | None = None) -> GroupFigures:
    found = group_figures(school=school, start=start, end=end, calendar=calendar)
    return found[0] if found else GroupFigures("school", 0, 0, 0, Figures())


def trust_figures(*, trust: Trust, start: dt.date, end: dt.date) -> GroupFigures:
    """A trust's figures: each school's sums added together (never an average of school rates)."""
    total = GroupFigures("trust", 0, 0, 0, Figures())
    for school in trust.schools.all():
        found = school_figures(school=school, start=start, end=end)
        total = GroupFigures("trust", total.enrolments + found.enrolments,
                             total.persistent_absence + found.persistent_absence,
                             total.severe_absence + found.severe_absence, total.figures + found.figures)
    return total


def school_headline(*, school: School, on: dt.date | None = None) -> Headline | None:
    """Academic year to date: attendance rate, persistent and severe absence counts."""
    today = on or timezone.localdate()
    calendar = calendar_for(school=school)
    year = calendar.year_for(today)
    if year is None:
        return None
    end = min(today, year.end)
    found = school_figures(school=school, start=year.start, end=end, calendar=calendar)
    return Headline(year.start, end, found.enrolments, found.figures.possible, found.figures.attendance,
                    found.persistent_absence, found.severe_absence)


def trust_school_headlines(*, trust: Trust) -> list[tuple[School, Headline | None]]:
    return [(school, school_headline(school=school)) for school in trust.schools.all()]


def signals_as_of(*, school: School, on: dt.date) -> list[Signal]:
    """The signals the data shows on `on` (computed, not read from the stored rows). The rules choose
    their candidates from the summaries, so bring them up to date first (`calculation_run`)."""
    from registers.selectors import policy_for

    return signals_compute(schools=[school], calendar=calendar_for(school=school), on=on,
                           policy=policy_for(school=school, day=on))


def signals_active(*, school: School, kind: str | None = None) -> list[AttendanceSignal]:
    found = AttendanceSignal.objects.filter(school=school, active=True).select_related("enrolment__pupil")
    return list(found.filter(kind=kind) if kind else found)


def calculation_last(*, school: School) -> CalculationRun | None:
    return CalculationRun.objects.filter(school=school, status=CalculationRun.Status.DONE) \
        .order_by("-finished_at").first()


assert tuple(f.name for f in fields(Figures)) == FIGURE_FIELDS  # noqa: S101
