"""A school's calendar as the statistics engine sees it.

School sessions are weekday sessions inside a term, less planned closures. Summaries are kept per
academic year, as bit strings in which slot n is the session (start + n // 2 days, AM if n is even):
`Year` turns days into slots and ranges into masks.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from django_scopes import scopes_disabled

from attendance_portal.models import School
from registers.models import AcademicYear, Closure, Term


def session_name(slot: int) -> str:
    """AM or PM: the session of a slot (even slots are mornings)."""
    return "PM" if slot % 2 else "AM"


@dataclass(frozen=True)
class Year:
    start: dt.date
    end: dt.date

    @property
    def slots(self) -> int:
        return ((self.end - self.start).days + 1) * 2

    def slot(self, day: dt.date, session: str) -> int:
        return (day - self.start).days * 2 + (session == "PM")

    def session_at(self, slot: int) -> tuple[dt.date, str]:
        return self.start + dt.timedelta(days=slot // 2), session_name(slot)

    @cached_property
    def iso_days(self) -> tuple[str, ...]:
        """The ISO date of each slot, the way evidence lists sessions; built once per year."""
        return tuple((self.start + dt.timedelta(days=slot // 2)).isoformat() for slot in range(self.slots))

    def span(self, start: dt.date, end: dt.date) -> tuple[int, int] | None:
        """The first and last slots of the days [start, end] inside this year, or None."""
        start, end = max(start, self.start), min(end, self.end)
        return (self.slot(start, "AM"), self.slot(end, "PM")) if start <= end else None

    def mask(self, first: int, last: int) -> str:
        """A bit string (as text) with the slots first..last set."""
        return "0" * first + "1" * (last - first + 1) + "0" * (self.slots - last - 1)

    def range_mask(self, start: dt.date, end: dt.date) -> str | None:
        found = self.span(start, end)
        return self.mask(*found) if found else None

    @property
    def zero(self) -> str:
        return "0" * self.slots


@dataclass(frozen=True)
class SchoolCalendar:
    years: tuple[Year, ...]
    terms: tuple[tuple[dt.date, dt.date], ...]
    closures: frozenset[tuple[dt.date, str]]  # (date, "AM" | "PM")

    @property
    def key(self) -> str:
        """Changes exactly when the summary layout would: a stored summary with another key is rebuilt.
        v3: summaries are kept as marks are written from then on; the rebuild brings in earlier ones."""
        return "years-v3:" + ",".join(f"{y.start.isoformat()}/{y.end.isoformat()}" for y in self.years)

    def years_overlapping(self, start: dt.date, end: dt.date) -> tuple[Year, ...]:
        return tuple(y for y in self.years if y.start <= end and start <= y.end)

    def outside_years(self, start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
        """The parts of [start, end] that lie in no academic year (marks there have no summary)."""
        parts = []
        day = start
        for year in self.years:
            if year.end < day:
                continue
            if year.start > end:
                break
            if year.start > day:
                parts.append((day, year.start - dt.timedelta(days=1)))
            day = year.end + dt.timedelta(days=1)
            if day > end:
                return tuple(parts)
        if day <= end:
            parts.append((day, end))
        return tuple(parts)

    def school_mask(self, year: Year, up_to: dt.date) -> str:
        """The year's school sessions on or before `up_to` as a bit string."""
        bits = ["0"] * year.slots
        for day, session in self.sessions:
            if year.start <= day <= min(year.end, up_to):
                bits[year.slot(day, session)] = "1"
        return "".join(bits)

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
        """The academic year containing `day`; None when the school has not set that year up. A
        year-to-date figure or signal belongs to the year containing its day: in a September before
        the new year is set up, last year's figures are not carried forward as if current."""
        inside = [y for y in self.years if y.start <= day <= y.end]
        return inside[-1] if inside else None

    def recent_school_weeks(self, day: dt.date, count: int) -> tuple[dt.date, ...]:
        """The `count` most recent school weeks ending with the week containing `day` (if a school week)."""
        position = bisect_right(self.week_mondays, monday(day))
        return self.week_mondays[max(0, position - count):position]

    def days_up_to(self, day: dt.date) -> tuple[dt.date, ...]:
        return self.days[:bisect_right(self.days, day)]

    def sessions_up_to(self, day: dt.date) -> tuple[tuple[dt.date, str], ...]:
        return self.sessions[:bisect_right(self.sessions, (day, "PM"))]


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def calendars_for(*, schools: list[School]) -> dict[int, SchoolCalendar]:
    """The calendars of several schools in three queries, by school id."""
    ids = [school.pk for school in schools]
    years: dict[int, list[Year]] = {pk: [] for pk in ids}
    terms: dict[int, list[tuple[dt.date, dt.date]]] = {pk: [] for pk in ids}
    closures: dict[int, set[tuple[dt.date, str]]] = {pk: set() for pk in ids}
    with scopes_disabled():
        for school_id, start, end in AcademicYear.objects.filter(school__in=ids).order_by("school_id", "start") \
                .values_list("school_id", "start", "end"):
            years[school_id].append(Year(start, end))
        for school_id, start, end in Term.objects.filter(school__in=ids).order_by("school_id", "start") \
                .values_list("school_id", "start", "end"):
            terms[school_id].append((start, end))
        for school_id, day, which in Closure.objects.filter(school__in=ids).values_list("school_id", "date", "session"):
            closures[school_id] |= {(day, s) for s in ("AM", "PM") if which in (s, Closure.Which.BOTH)}
    return {pk: SchoolCalendar(years=tuple(years[pk]), terms=tuple(terms[pk]), closures=frozenset(closures[pk]))
            for pk in ids}


def calendar_for(*, school: School) -> SchoolCalendar:
    return calendars_for(schools=[school])[school.pk]
