"""Checks on changes to the school calendar, shared by the set-up pages and the onboarding import.

Marks are never deleted, so the calendar cannot change under them: a closure cannot fall on a session that
holds marks, and a term cannot shrink away from days that have them. Each check returns what is wrong in
words the office understands ([] when nothing is); forms and the import only report them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q

from attendance_portal.models import School

from .calendar import SESSIONS, closure_covers, session_closures
from .models import AcademicYear, Mark, Term


def marked_sessions(*, school: School, sessions: Iterable[tuple[dt.date, str]]) -> set[tuple[dt.date, str]]:
    """The sessions among these that already hold marks. One query."""
    wanted = set(sessions)
    if not wanted:
        return set()
    found = Mark.objects.filter(school=school, date__in={day for day, _ in wanted}).values_list("date", "session")
    return set(found.distinct()) & wanted


def closure_sessions(day: dt.date, which: str) -> list[tuple[dt.date, str]]:
    """The sessions a planned closure for `which` (AM, PM or BOTH) on `day` closes."""
    return [(day, session) for session in SESSIONS if closure_covers(which, session)]


def year_overlapping(*, school: School, start: dt.date, end: dt.date,
                     keep: AcademicYear | None = None) -> AcademicYear | None:
    """An academic year of the school other than `keep` that overlaps [start, end] (years never overlap)."""
    others = AcademicYear.objects.filter(school=school, start__lte=end, end__gte=start).order_by("start")
    if keep is not None and keep.pk:
        others = others.exclude(pk=keep.pk)
    return others.first()


def academic_year_problems(*, school: School, start: dt.date, end: dt.date,
                           year: AcademicYear | None = None) -> list[str]:
    """What stops the year (new, or `year` changed) from having these dates."""
    problems = []
    clash = year_overlapping(school=school, start=start, end=end, keep=year)
    if clash:
        problems.append(f"These dates overlap the academic year {clash.name} "
                        f"({clash.start:%d %b %Y} to {clash.end:%d %b %Y}).")
    if year is not None and year.pk:
        outside = Term.objects.filter(school=school, academic_year=year).filter(
            Q(start__lt=start) | Q(end__gt=end)).first()
        if outside:
            problems.append(f"Term '{outside.name}' ({outside.start:%d %b %Y} to {outside.end:%d %b %Y}) "
                            "would fall outside the year; change the term first.")
    return problems


def term_problems(*, school: School, start: dt.date, end: dt.date, term: Term | None = None,
                  before: tuple[dt.date, dt.date] | None = None) -> list[str]:
    """What stops a term (new, or `term` whose dates were `before`) from having these dates."""
    others = Term.objects.filter(school=school, start__lte=end, end__gte=start)
    if term is not None and term.pk:
        others = others.exclude(pk=term.pk)
    clash = others.first()
    if clash:
        return [f"These dates overlap {clash.name} ({clash.start:%d %b %Y} to {clash.end:%d %b %Y})."]
    if before:
        lost = Mark.objects.filter(school=school, date__range=before).filter(
            Q(date__lt=start) | Q(date__gt=end)).order_by("date").first()
        if lost:
            return [f"Marks are already recorded on {lost.date:%d %B %Y}, which would no longer be in term time. "
                    "Keep that day inside the term."]
    return []


def closure_problems(*, school: School, day: dt.date, which: str) -> list[str]:
    """What stops a planned closure of `which` (AM, PM or BOTH) on `day`: a session that is not a school
    session already, else marks already recorded."""
    wanted = closure_sessions(day, which)
    closed = session_closures(school=school, start=day, end=day)
    problems = [f"The {'morning' if session == 'AM' else 'afternoon'} of {day:%A %d %B %Y} is not a school "
                f"session already ({closed[(day, session)]})." for _, session in wanted if (day, session) in closed]
    if not problems and marked_sessions(school=school, sessions=wanted):
        problems.append(f"Marks are already recorded for {day:%A %d %B %Y}; a closure cannot replace them.")
    return problems
