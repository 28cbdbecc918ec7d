"""A school's calendar as the statistics engine sees it.

School sessions are weekday sessions inside a term, less planned closures. Summary buckets are
Monday–Sunday weeks cut at academic-year boundaries, so that every bucket lies inside one academic
year (or outside all of them) and a year's running total is the sum of its weeks.

The bucket arithmetic exists twice, in Python and as SQL text, and a test checks they agree.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from attendance_portal.models import School
from registers.models import AcademicYear, Closure, Term

_MONDAY = dt.date(2000, 1, 3)
_BEFORE_ALL = dt.date(1, 1, 1)
_AFTER_ALL = dt.date(9999, 12, 31)


@dataclass(frozen=True)
class Year:
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class SchoolCalendar:
    years: tuple[Year, ...]
    terms: tuple[tuple[dt.date, dt.date], ...]
    closures: frozenset[tuple[dt.date, str]]  # (date, "AM" | "PM")

    @cached_property
    def boundaries(self) -> tuple[dt.date, ...]:
        """Days on which a new bucket must start whatever the weekday."""
        days = {y.start for y in self.years} | {y.end + dt.timedelta(days=1) for y in self.years}
        return tuple(sorted(days))

    @property
    def key(self) -> str:
        """Changes exactly when the buckets would: a stored summary with another key must be rebuilt."""
        return ",".join(day.isoformat() for day in self.boundaries)

    @cached_property
    def sessions(self) -> tuple[tuple[dt.date, str], ...]:
        found = []
        for start, end in self.terms:
            day = start
            while day <= end:
                if day.weekday() < 5:
                    found += [(day, s) for s in ("AM", "PM") if (day, s) not in self.closures]
                day += dt.timedelta(days=1)
        return tuple(sorted(set(found)))

    @cached_property
    def days(self) -> tuple[dt.date, ...]:
        return tuple(sorted({day for day, _ in self.sessions}))

    @cached_property
    def week_mondays(self) -> tuple[dt.date, ...]:
        """School weeks: Monday–Sunday weeks with at least one school session."""
        return tuple(sorted({monday(day) for day in self.days}))

    def year_for(self, day: dt.date) -> Year | None:
        """The academic year containing `day`, else the latest that started before it."""
        started = [y for y in self.years if y.start <= day]
        inside = [y for y in started if day <= y.end]
        return (inside or started or [None])[-1]

    def recent_school_weeks(self, day: dt.date, count: int) -> tuple[dt.date, ...]:
        """The `count` most recent school weeks ending with the week containing `day` (if a school week)."""
        position = bisect_right(self.week_mondays, monday(day))
        return self.week_mondays[max(0, position - count):position]

    def days_up_to(self, day: dt.date) -> tuple[dt.date, ...]:
        return self.days[:bisect_right(self.days, day)]

    def sessions_up_to(self, day: dt.date) -> tuple[tuple[dt.date, str], ...]:
        return self.sessions[:bisect_right(self.sessions, (day, "PM"))]

    # Buckets ----------------------------------------------------------------------------------------
    def bucket_start(self, day: dt.date) -> dt.date:
        position = bisect_right(self.boundaries, day)
        floor = self.boundaries[position - 1] if position else _BEFORE_ALL
        return max(monday(day), floor)

    def bucket_end(self, day: dt.date) -> dt.date:
        position = bisect_right(self.boundaries, day)
        ceiling = self.boundaries[position] - dt.timedelta(days=1) if position < len(self.boundaries) else _AFTER_ALL
        return min(monday(day) + dt.timedelta(days=6), ceiling)

    def bucket_start_sql(self, column: str) -> str:
        cases = " ".join(f"WHEN {column} >= DATE '{b.isoformat()}' THEN DATE '{b.isoformat()}'"
                         for b in reversed(self.boundaries))
        floor = f"CASE {cases} ELSE DATE '{_BEFORE_ALL.isoformat()}' END" if cases else f"DATE '{_BEFORE_ALL}'"
        return f"GREATEST({_monday_sql(column)}, {floor})"

    def bucket_end_sql(self, column: str) -> str:
        cases = " ".join(f"WHEN {column} < DATE '{b.isoformat()}' THEN DATE '{(b - dt.timedelta(days=1))}'"
                         for b in self.boundaries)
        ceiling = f"CASE {cases} ELSE DATE '{_AFTER_ALL}' END" if cases else f"DATE '{_AFTER_ALL}'"
        return f"LEAST({_monday_sql(column)} + 6, {ceiling})"


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _monday_sql(column: str) -> str:
    # Integer arithmetic on dates: cheaper per row than date_trunc, independent of the time zone.
    # "%%" because every statement using it is run with parameters.
    return f"({column} - (({column} - DATE '{_MONDAY.isoformat()}') %% 7))"


def calendar_for(*, school: School) -> SchoolCalendar:
    years = tuple(Year(y.start, y.end) for y in AcademicYear.objects.filter(school=school).order_by("start"))
    terms = tuple(Term.objects.filter(school=school).order_by("start").values_list("start", "end"))
    closures: set[tuple[dt.date, str]] = set()
    for day, which in Closure.objects.filter(school=school).values_list("date", "session"):
        closures |= {(day, s) for s in ("AM", "PM") if which in (s, Closure.Which.BOTH)}
    return SchoolCalendar(years=years, terms=terms, closures=frozenset(closures))
