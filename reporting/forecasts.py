# ruff: noqa: S608 - SQL is assembled only from this package's constants; values are bound parameters.
"""Forecasts: where attendance is heading if the recent rate continues.

Method (shown to readers as `METHOD`): a pupil's *recent rate* is their absence over the last
RECENT_WEEKS school weeks (their year-to-date rate when they had no sessions then). The rest of the
year's school sessions (from the school calendar, after the as-of day) are assumed to go at that rate:

    projected absence = absence so far + recent rate × sessions left
    projected attendance = 1 − projected absence ÷ (possible so far + sessions left)

A pupil not yet persistently absent becomes so on the first future session n at which
10 × (absence so far + recent rate × n) ≥ possible so far + n; that is, n = ⌈(possible − 10 × absence) ÷
(10 × rate − 1)⌉, which exists only when the recent rate is above 10 %. The date is the n-th school
session from the calendar; none when it falls after the year's last session.

The school's projected year-end PA rate is the share of pupils projected persistently absent; its range
runs from that projection to the share who would be if each pupil's year-to-date rate held instead
(which is the share persistently absent today), whichever is lower to whichever is higher.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db import connection

from attendance_portal.models import School
from registers.calendar import SchoolCalendar, calendar_for

from .figures import FIGURE_CATEGORIES, PERSISTENT_ABSENCE_PERCENT, is_persistent, persistent_sql
from .summaries import TABLE

RECENT_WEEKS = 4
METHOD = (f"If each pupil's absence over the last {RECENT_WEEKS} school weeks continues for the rest of the "
          "year's school sessions. A pupil becomes persistently absent on the first school session at which "
          "their absence would reach 10% of their possible sessions at that rate.")


def members(*figures: str) -> tuple[str, ...]:
    """The categories (bit-string columns) behind figures, e.g. members("authorised", "unauthorised")."""
    found: list[str] = []
    for figure in figures:
        categories = FIGURE_CATEGORIES[figure]
        assert categories is not None  # noqa: S101 - minutes late has no bits
        found += categories
    return tuple(found)


def bits_sql(*figures: str, alias: str = "s") -> str:
    """The OR of the bit strings behind figures (categories never share a slot, so OR adds them)."""
    return "(" + " | ".join(f"{alias}.{m}" for m in members(*figures)) + ")"


POSSIBLE_BITS = bits_sql("possible")
ABSENT_BITS = bits_sql("authorised", "unauthorised")


@dataclass(frozen=True)
class Window:
    """The masks a forecast needs for one school year as of one day."""

    year_start: dt.date
    to_date: str  # mask of the year up to the day
    recent: str  # mask of the last RECENT_WEEKS school weeks up to the day
    remaining: int  # school sessions after the day in the year
    future: tuple[tuple[dt.date, str], ...]  # those sessions, in order


def forecast_window(*, calendar: SchoolCalendar, on: dt.date) -> Window | None:
    year = calendar.year_for(on)
    if year is None:
        return None
    day = min(on, year.end)
    weeks = calendar.recent_school_weeks(day, RECENT_WEEKS)
    recent_from = weeks[0] if weeks else year.start
    future = tuple(s for s in calendar.sessions if day < s[0] <= year.end)
    return Window(year.start, year.range_mask(year.start, day) or year.zero,
                  year.range_mask(max(recent_from, year.start), day) or year.zero, len(future), future)


def per_enrolment_sql() -> str:
    """Per enrolment of the year starting %(f_year)s: possible and absent so far and recently."""
    return f"""
        SELECT s.enrolment_id,
               bit_count({POSSIBLE_BITS} & %(f_to_date)s::varbit) AS poss,
               bit_count({ABSENT_BITS} & %(f_to_date)s::varbit) AS absent,
               bit_count({POSSIBLE_BITS} & %(f_recent)s::varbit) AS recent_poss,
               bit_count({ABSENT_BITS} & %(f_recent)s::varbit) AS recent_absent
          FROM {TABLE} s WHERE s.school_id = %(school)s AND s.start = %(f_year)s"""


def rate_sql(alias: str = "x") -> str:
    """The recent absence rate as a fraction (year to date when there were no recent sessions)."""
    return (f"(CASE WHEN {alias}.recent_poss > 0 THEN {alias}.recent_absent::float / {alias}.recent_poss "
            f"ELSE {alias}.absent::float / {alias}.poss END)")


def aggregate_sql(*, source: str = "") -> str:
    """One row: pupils, PA today, PA projected at the year's end at the recent rate. `source` may name a
    relation of this year's rows that has the possible (pb) and absent (ab) bits already OR-ed."""
    rows = per_enrolment_sql() if not source else f"""
        SELECT bit_count(pb & %(f_to_date)s::varbit) AS poss, bit_count(ab & %(f_to_date)s::varbit) AS absent,
               bit_count(pb & %(f_recent)s::varbit) AS recent_poss,
               bit_count(ab & %(f_recent)s::varbit) AS recent_absent
          FROM {source} WHERE {source}.cur"""
    return _aggregate_sql(rows, remaining="%(f_remaining)s")


def projected_persistent_sql(remaining: str, alias: str = "x") -> str:
    """True for a row (poss, absent, recent_poss, recent_absent) projected persistently absent at the year's
    end with `remaining` school sessions to come at its recent rate."""
    projected = f"({alias}.absent + {remaining} * {rate_sql(alias)})"
    return persistent_sql(projected, f"{alias}.poss + {remaining}")


def _aggregate_sql(rows: str, *, remaining: str) -> str:
    """Pupils, PA today and PA projected over `rows` (poss, absent, recent_poss, recent_absent per
    enrolment), with `remaining` school sessions to come."""
    return f"""
        SELECT count(*) AS pupils,
               count(*) FILTER (WHERE {persistent_sql('x.absent', 'x.poss')}) AS pa_now,
               count(*) FILTER (WHERE {projected_persistent_sql(remaining)}) AS pa_projected
          FROM ({rows}) x WHERE x.poss > 0"""


def year_end_pa_sql(*, possible: str, absent: str) -> str:
    """Aggregates over rows of one whole school year each (the year's persistent absence at its end, as the
    governors' and the trust's pages compare the projection with): `pupils`, the rows with a possible session
    that year, and `pa`, those persistently absent over it. `possible` and `absent` are SQL for a row's
    possible and absent sessions over the whole year."""
    return (f"count(*) FILTER (WHERE ({possible}) > 0) AS pupils, "
            f"count(*) FILTER (WHERE {persistent_sql(absent, possible)}) AS pa")


def pupil_share(count: int, pupils: int) -> float | None:
    """`count` of `pupils` as a percentage to one place, as every forecast figure is shown; none without pupils."""
    return round(100 * count / pupils, 1) if pupils else None


def window_params(window: Window) -> dict[str, Any]:
    return {"f_year": window.year_start, "f_to_date": window.to_date, "f_recent": window.recent,
            "f_remaining": window.remaining}


@dataclass(frozen=True)
class PupilForecast:
    enrolment_id: int
    possible: int
    absent: int
    recent_rate: float  # absence, percent
    projected_attendance: float  # percent at the year's end
    persistent_now: bool
    becomes_persistent_on: dt.date | None

    @property
    def attendance_now(self) -> float:
        return round(100 * (1 - self.absent / self.possible), 2) if self.possible else 0.0


def pupil_forecast(*, enrolment_id: int, possible: int, absent: int, rate: float, window: Window) -> PupilForecast:
    remaining = window.remaining
    projected_absent = absent + rate * remaining
    total = possible + remaining
    projected = round(100 * (1 - projected_absent / total), 2) if total else 0.0
    persistent = is_persistent(absent, possible)
    on: dt.date | None = None
    p = PERSISTENT_ABSENCE_PERCENT
    if not persistent and 100 * rate > p:
        # 100 * (absent + rate * s) >= p * (possible + s): the first whole number of sessions s
        sessions = max(1, math.ceil((p * possible - 100 * absent) / (100 * rate - p)))
        if sessions <= remaining:
            on = window.future[sessions - 1][0]
    return PupilForecast(enrolment_id, possible, absent, round(100 * rate, 2), projected, persistent, on)


def forecast_order(forecast: PupilForecast) -> tuple[bool, dt.date, float, int]:
    """Soonest to become persistently absent first, then the lowest projected attendance."""
    return (forecast.becomes_persistent_on is None, forecast.becomes_persistent_on or dt.date.max,
            forecast.projected_attendance, forecast.enrolment_id)


def pupil_forecasts(*, school: School, on: dt.date, calendar: SchoolCalendar | None = None,
                    enrolment_ids: list[int] | None = None) -> list[PupilForecast]:
    """Every enrolment (or those of `enrolment_ids`) with possible sessions this year, in `forecast_order`
    (for officers' pages; never shown to governors). One statement."""
    window = forecast_window(calendar=calendar or calendar_for(school=school), on=on)
    if window is None or enrolment_ids == []:
        return []
    only = " AND x.enrolment_id = ANY(%(ids)s)" if enrolment_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT x.enrolment_id, x.poss, x.absent, {rate_sql()} FROM ({per_enrolment_sql()}) x "
                       f"WHERE x.poss > 0{only}", {"school": school.pk, "ids": enrolment_ids, **window_params(window)})
        found = [pupil_forecast(enrolment_id=e, possible=p, absent=a, rate=r, window=window)
                 for e, p, a, r in cursor.fetchall()]
    return sorted(found, key=forecast_order)


@dataclass(frozen=True)
class SchoolForecast:
    pupils: int
    pa_now: int
    pa_projected: int
    # Last year's persistent absence at its end (`year_end_pa_sql`): pupils, and how many were persistently absent.
    last_year_pupils: int = 0
    last_year_pa: int = 0

    def _rate(self, count: int) -> float:
        return pupil_share(count, self.pupils) or 0.0

    @property
    def last_year_pa_rate(self) -> float | None:
        """The actual year-end PA rate last year, to set the projection against; none without last year's pupils."""
        return pupil_share(self.last_year_pa, self.last_year_pupils)

    @property
    def projected_rate(self) -> float:
        return self._rate(self.pa_projected)

    @property
    def low(self) -> float:
        return self._rate(min(self.pa_now, self.pa_projected))

    @property
    def high(self) -> float:
        return self._rate(max(self.pa_now, self.pa_projected))
