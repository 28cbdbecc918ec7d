"""The periods a dashboard can show, each with the same period a year earlier to compare with.

Terms are the school's own (autumn, spring, summer: the half-terms of a season together); the census
periods of a statutory return are another matter (`reporting.census`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django_scopes import scopes_disabled

from attendance_portal.models import School
from registers.calendar import SchoolCalendar, Year
from registers.models import Term

KINDS = {
    "this_term": "This term",
    "last_term": "Last term",
    "year_to_date": "Year to date",
    "custom": "Chosen dates",
}
SEASON_NAMES = {"autumn": "Autumn term", "spring": "Spring term", "summer": "Summer term"}


class PeriodError(ValueError):
    """A period that cannot be shown; the message says why in the reader's words."""


@dataclass(frozen=True)
class Period:
    kind: str
    label: str
    start: dt.date
    end: dt.date
    year: Year
    last_start: dt.date | None
    last_end: dt.date | None
    last_year: Year | None

    @property
    def last_label(self) -> str:
        if self.last_start is None or self.last_end is None:
            return "no figures for last year"
        return f"{self.last_start:%-d %b %Y} to {self.last_end:%-d %b %Y}"


@dataclass(frozen=True)
class SeasonTerm:
    year_start: dt.date
    season: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return f"{SEASON_NAMES.get(self.season, self.season.title())} {self.start.year}"


def season_terms(*, school: School) -> list[SeasonTerm]:
    """The school's terms, half-terms of one season of one year together, in date order (one query)."""
    found: dict[tuple[dt.date, str], list[dt.date]] = {}
    with scopes_disabled():
        rows = Term.objects.filter(school=school).values_list("academic_year__start", "season", "start", "end")
        for year_start, season, start, end in rows:
            found.setdefault((year_start, season), []).extend([start, end])
    terms = [SeasonTerm(year_start, season, min(days), max(days)) for (year_start, season), days in found.items()]
    return sorted(terms, key=lambda t: t.start)


def _year_before(calendar: SchoolCalendar, year: Year) -> Year | None:
    earlier = [y for y in calendar.years if y.end < year.start]
    return earlier[-1] if earlier else None


def _minus_a_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def period_choose(*, calendar: SchoolCalendar, terms: list[SeasonTerm], kind: str, today: dt.date,
                  start: dt.date | None = None, end: dt.date | None = None) -> Period:
    """The period of `kind` as of `today`, and the same one a year earlier (the same term of the year
    before, or the same dates a year earlier, inside last year's academic year)."""
    if kind not in KINDS:
        raise PeriodError(f"Choose one of: {', '.join(KINDS.values())}.")
    year = calendar.year_for(today)
    if year is None:
        raise PeriodError(f"The school year containing {today:%-d %B %Y} is not set up yet: add it on the "
                          "school's calendar page.")
    last_term: SeasonTerm | None = None
    if kind == "custom":
        if start is None or end is None:
            raise PeriodError("Give a first and a last day.")
        if end < start:
            raise PeriodError("The last day is before the first day.")
        year = calendar.year_for(start)
        if year is None or not (year.start <= start and end <= year.end):
            raise PeriodError("Choose dates inside one academic year.")
        label = f"{start:%-d %b %Y} to {end:%-d %b %Y}"
    elif kind == "year_to_date":
        start, end = year.start, min(today, year.end)
        label = f"Year to date ({start:%-d %b %Y} to {end:%-d %b %Y})"
    else:
        started = [t for t in terms if t.start <= today]
        if kind == "last_term":
            started = [t for t in started if t.end < today]
        if not started:
            raise PeriodError("There is no such term yet.")
        term = started[-1]
        year = calendar.year_for(term.start) or year
        start, end = term.start, min(term.end, today)
        label = term.label + (" so far" if end < term.end else "")
        last_term = next((t for t in terms if t.season == term.season and t.year_start < term.year_start
                          and t.start.year == term.start.year - 1), None)
    before = _year_before(calendar, year)
    if before is None:
        return Period(kind, label, start, end, year, None, None, None)
    if last_term is not None:
        last_start = last_term.start
        last_end = min(last_term.end, last_term.start + (end - start))
    else:
        last_start, last_end = _minus_a_year(start), _minus_a_year(end)
    last_start, last_end = max(last_start, before.start), min(last_end, before.end)
    if last_end < last_start:
        return Period(kind, label, start, end, year, None, None, None)
    return Period(kind, label, start, end, year, last_start, last_end, before)
