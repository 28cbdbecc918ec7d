"""The school calendar, written once: which days and sessions a school is open, which academic year a day
belongs to, and how school days and school weeks are counted.

The registers, the import's checks, the statistics engine and the casework clocks all read these rules:

* A school session is a weekday session inside a term that no planned closure covers (`session_closed`).
* A day belongs to the academic year containing it. With no such year set up there is none: in a September
  before the school has set up the new year, last year is not carried forward as if current (`year_containing`).
* A school week is a Monday–Sunday week with at least one school session.

`SchoolCalendar` holds a school's whole calendar in memory for the statistics engine and casework; summaries are
kept per academic year as bit strings in which slot n is the session (start + n // 2 days, AM if n is even):
`Year` turns days into slots and ranges into masks.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, TypeVar

from django_scopes import scopes_disabled

from attendance_portal.models import School
from attendance_portal.tenancy import Prepared, school_rows

from .models import AcademicYear, Closure, Term

SESSIONS = ("AM", "PM")
WEEKEND = "weekend"
OUTSIDE_TERM = "outside term time"
NO_YEAR = ("The school's calendar has no academic year containing {day:%d %B %Y}. Set up the academic year "
           "(1 September to 31 August) on the school calendar page first.")


# --------------------------------------------------------------------------- the rules


def session_closed(day: dt.date, *, in_term: bool, closure: str = "") -> str:
    """Why a session of `day` is not a school session, or "" when it is one.

    `in_term`: the day lies inside one of the school's terms; `closure`: the reason of a planned closure
    covering the session ("" when none does)."""
    if day.weekday() >= 5:
        return WEEKEND
    if not in_term:
        return OUTSIDE_TERM
    return closure


def closure_covers(which: str, session: str) -> bool:
    """Whether a planned closure for `which` (AM, PM or BOTH) covers `session`."""
    return which in (Closure.Which.BOTH, session)


def closed_sessions(*, start: dt.date, end: dt.date, terms: Iterable[tuple[dt.date, dt.date]],
                    closures: Mapping[tuple[dt.date, str], str]) -> dict[tuple[dt.date, str], str]:
    """Every (date, session) in [start, end] that is not a school session, with the reason.

    `closures` maps each closed (date, session) to its reason, as `closure_reasons` builds it."""
    ranges = sorted(terms)
    out: dict[tuple[dt.date, str], str] = {}
    day = start
    while day <= end:
        in_term = any(s <= day <= e for s, e in ranges)
        for session in SESSIONS:
            why = session_closed(day, in_term=in_term, closure=closures.get((day, session), ""))
            if why:
                out[(day, session)] = why
        day += dt.timedelta(days=1)
    return out


def closure_reasons(rows: Iterable[tuple[dt.date, str, str]]) -> dict[tuple[dt.date, str], str]:
    """Planned closures (date, AM/PM/BOTH, reason) as the sessions they close, with the reason."""
    return {(day, session): reason for day, which, reason in rows for session in SESSIONS
            if closure_covers(which, session)}


class HasDates(Protocol):
    @property
    def start(self) -> dt.date: ...
    @property
    def end(self) -> dt.date: ...


Y = TypeVar("Y", bound=HasDates)


def year_containing(years: Sequence[Y], day: dt.date) -> Y | None:
    """The academic year containing `day`, or None when the school has not set that year up."""
    inside = [y for y in years if y.start <= day <= y.end]
    return inside[-1] if inside else None


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def session_name(slot: int) -> str:
    """AM or PM: the session of a slot (even slots are mornings)."""
    return "PM" if slot % 2 else "AM"


# --------------------------------------------------------------------------- reads for one range


# A school's terms and planned closures overlapping a range, together: read on every register page and the
# board, where building the ORM's union cost several times what running it does; prepared once per session.
CLOSURES_SQL = Prepared("school_closures", f"""
SELECT true, t.start, t."end", '', '' FROM {Term._meta.db_table} t
 WHERE t.school_id = %(school)s AND t.start <= %(end)s AND t."end" >= %(start)s
UNION ALL
SELECT false, c.date, c.date, c.session, c.reason FROM {Closure._meta.db_table} c
 WHERE c.school_id = %(school)s AND c.date BETWEEN %(start)s AND %(end)s""")  # noqa: S608 - table names only


def session_closures(*, school: School, start: dt.date, end: dt.date) -> dict[tuple[dt.date, str], str]:
    """Every (date, session) between start and end that is NOT a school session, with the reason. One query:
    the school's terms and planned closures overlapping the range (a read outside the school's scope raises,
    as a scoped manager's does)."""
    rows = school_rows(school_id=school.pk, sql=CLOSURES_SQL, params={"school": school.pk, "start": start, "end": end})
    return closed_sessions(
        start=start, end=end, terms=[(first, last) for is_term, first, last, _, _ in rows if is_term],
        closures=closure_reasons((day, which, reason) for is_term, day, _, which, reason in rows if not is_term))


def school_sessions(*, school: School, start: dt.date, end: dt.date) -> list[tuple[dt.date, str]]:
    """The school's sessions between start and end, in order."""
    closed = session_closures(school=school, start=start, end=end)
    return [(start + dt.timedelta(days=n), s) for n in range((end - start).days + 1) for s in SESSIONS
            if (start + dt.timedelta(days=n), s) not in closed]


def school_days_either_side(*, school: School, day: dt.date, within: int = 60) -> tuple[dt.date | None, dt.date | None]:
    """The nearest days with a school session before `day` and after it, each within `within` days: one read."""
    days = {d for d, _ in school_sessions(school=school, start=day - dt.timedelta(days=within),
                                          end=day + dt.timedelta(days=within))}
    return max((d for d in days if d < day), default=None), min((d for d in days if d > day), default=None)


def school_day_step(*, school: School, day: dt.date, step: int, within: int = 60) -> dt.date | None:
    """The nearest day with a school session after `day` (step 1) or before it (step -1), within `within` days."""
    before, after = school_days_either_side(school=school, day=day, within=within)
    return after if step > 0 else before


def school_day_latest(*, school: School, day: dt.date) -> dt.date:
    """`day` when it is a school day, else the last school day before it (or `day` when there is none)."""
    if school_sessions(school=school, start=day, end=day):
        return day
    return school_day_step(school=school, day=day, step=-1) or day


def academic_year_for(*, school: School, day: dt.date) -> AcademicYear | None:
    """The academic year containing `day`; None when the school has not set that year up (`year_containing`)."""
    years = AcademicYear.objects.filter(school=school, start__lte=day, end__gte=day).order_by("start")
    return year_containing(list(years), day)


# --------------------------------------------------------------------------- the whole calendar in memory


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
        found: set[tuple[dt.date, str]] = set()
        for start, end in self.terms:  # every day walked is inside this term
            day = start
            while day <= end:
                for session in SESSIONS:
                    closure = "closed" if (day, session) in self.closures else ""
                    if not session_closed(day, in_term=True, closure=closure):
                        found.add((day, session))
                day += dt.timedelta(days=1)
        return tuple(sorted(found))

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
        return year_containing(self.years, day)

    def recent_school_weeks(self, day: dt.date, count: int) -> tuple[dt.date, ...]:
        """The `count` most recent school weeks ending with the week containing `day` (if a school week)."""
        position = bisect_right(self.week_mondays, monday(day))
        return self.week_mondays[max(0, position - count):position]

    def days_up_to(self, day: dt.date) -> tuple[dt.date, ...]:
        return self.days[:bisect_right(self.days, day)]

    def sessions_up_to(self, day: dt.date) -> tuple[tuple[dt.date, str], ...]:
        return self.sessions[:bisect_right(self.sessions, (day, "PM"))]

    def school_days_after(self, day: dt.date, count: int) -> dt.date:
        """The `count`-th school day after `day`; past the calendar's end, five school days a week."""
        following = self.days[bisect_right(self.days, day):]
        return following[count - 1] if len(following) >= count else day + dt.timedelta(days=(count * 7 + 4) // 5)

    def school_weeks_after(self, day: dt.date, weeks: int) -> dt.date:
        """The Friday of the `weeks`-th school week after the week of `day` (holidays do not count); past the
        calendar's end, `weeks` calendar weeks."""
        at = bisect_right(self.week_mondays, monday(day))
        if at + weeks - 1 < len(self.week_mondays):
            return self.week_mondays[at + weeks - 1] + dt.timedelta(days=4)
        return day + dt.timedelta(weeks=weeks)


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
            closures[school_id] |= {(day, s) for s in SESSIONS if closure_covers(which, s)}
    return {pk: SchoolCalendar(years=tuple(years[pk]), terms=tuple(terms[pk]), closures=frozenset(closures[pk]))
            for pk in ids}


def calendar_for(*, school: School) -> SchoolCalendar:
    return calendars_for(schools=[school])[school.pk]
