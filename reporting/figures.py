# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""Figures for any date range, per enrolment, from the summaries.

A range is read as whole summary buckets plus the marks of at most one part-bucket at each end (a
few days), so a year-to-date figure reads about forty summary rows per enrolment and no history of
marks. Groups are sums of enrolments, never averages of percentages (DfE methodology).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from .calendar import SchoolCalendar
from .models import FIGURE_FIELDS
from .summaries import FIGURES_SQL, MARKS, TABLE, category_sql


@dataclass(frozen=True)
class Figures:
    """Session counts for one enrolment or a group of enrolments over one period."""

    possible: int = 0
    present: int = 0
    late_before_close: int = 0
    approved_educational_activity: int = 0
    authorised: int = 0
    illness: int = 0
    unauthorised: int = 0
    unauthorised_gno: int = 0
    reason_not_established: int = 0
    late_after_close: int = 0
    minutes_late: int = 0
    not_possible: int = 0

    @property
    def attendance(self) -> int:
        return self.present + self.approved_educational_activity

    @property
    def absence(self) -> int:
        return self.authorised + self.unauthorised

    @property
    def late_sessions(self) -> int:
        return self.late_before_close + self.late_after_close

    @property
    def persistent_absence(self) -> bool:
        # Integer comparison: exactly 10 % is persistent (DfE, exact method since 2015/16).
        return self.possible > 0 and 10 * self.absence >= self.possible

    @property
    def severe_absence(self) -> bool:
        return self.possible > 0 and 2 * self.absence >= self.possible

    def rate(self, sessions: int) -> float:
        return round(100 * sessions / self.possible, 2) if self.possible else 0.0

    @property
    def attendance_rate(self) -> float:
        return self.rate(self.attendance)

    @property
    def absence_rate(self) -> float:
        return self.rate(self.absence)

    @property
    def authorised_rate(self) -> float:
        return self.rate(self.authorised)

    @property
    def unauthorised_rate(self) -> float:
        return self.rate(self.unauthorised)

    @property
    def days_missed(self) -> float:
        """The "days" the letters quote: two sessions make a day."""
        return self.absence / 2

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Figures)))


assert tuple(f.name for f in fields(Figures)) == FIGURE_FIELDS  # noqa: S101 - SQL returns them in this order


@dataclass(frozen=True)
class RangePlan:
    """How a date range is read: whole buckets between two days, raw marks on the part-buckets."""

    whole_from: dt.date | None
    whole_to: dt.date | None
    raw: tuple[tuple[dt.date, dt.date], ...]


def range_plan(calendar: SchoolCalendar, start: dt.date, end: dt.date) -> RangePlan:
    raw: list[tuple[dt.date, dt.date]] = []
    head_end = calendar.bucket_end(start)
    if calendar.bucket_start(start) != start or head_end > end:
        raw.append((start, min(head_end, end)))
        start = head_end + dt.timedelta(days=1)
    if start > end:
        return RangePlan(None, None, tuple(raw))
    tail_start = calendar.bucket_start(end)
    if calendar.bucket_end(end) != end:
        raw.append((max(tail_start, start), end))
        end = tail_start - dt.timedelta(days=1)
    if start > end:
        return RangePlan(None, None, tuple(raw))
    return RangePlan(start, end, tuple(raw))


def range_figures_sql(calendar: SchoolCalendar, start: dt.date, end: dt.date) -> tuple[str, dict[str, object]]:
    """SQL giving (enrolment_id, figures…) for [start, end]; needs %(school)s among its parameters."""
    plan = range_plan(calendar, start, end)
    parts = []
    params: dict[str, object] = {}
    if plan.whole_from is not None:
        params |= {"whole_from": plan.whole_from, "whole_to": plan.whole_to}
        parts.append(f"""SELECT enrolment_id, {', '.join(FIGURE_FIELDS)} FROM {TABLE}
                          WHERE school_id = %(school)s AND kind = 'week'
                            AND start >= %(whole_from)s AND "end" <= %(whole_to)s""")
    for i, (raw_from, raw_to) in enumerate(plan.raw):
        params |= {f"raw_from_{i}": raw_from, f"raw_to_{i}": raw_to}
        parts.append(f"""SELECT enrolment_id, {FIGURES_SQL}
                           FROM (SELECT enrolment_id, minutes_late, {category_sql()} AS cat FROM {MARKS}
                                  WHERE school_id = %(school)s
                                    AND date BETWEEN %(raw_from_{i})s AND %(raw_to_{i})s) AS m
                          GROUP BY enrolment_id""")
    if not parts:
        parts.append(f"SELECT NULL::bigint AS enrolment_id, {', '.join('0' for _ in FIGURE_FIELDS)} WHERE false")
    sums = ", ".join(f"sum({f})::int AS {f}" for f in FIGURE_FIELDS)
    union = " UNION ALL ".join(f"({p})" for p in parts)
    general = f"SELECT enrolment_id, {sums} FROM ({union}) AS parts GROUP BY enrolment_id"
    year = next((y for y in calendar.years if y.start == start and end <= y.end), None)
    if year is None:
        return general, params
    # Year to date: when the school has no marks after `end` in that year (the usual case: a nightly
    # run, a dashboard), the year rows are exactly the figures, one row per enrolment instead of forty
    # week rows and the raw marks of the current week. The test is one probe of the (school, date)
    # index; PostgreSQL evaluates it once and runs only the branch it selects.
    params |= {"ytd_start": year.start, "ytd_to": end, "ytd_year_end": year.end}
    later = (f"EXISTS (SELECT 1 FROM {MARKS} WHERE school_id = %(school)s "
             f"AND date > %(ytd_to)s AND date <= %(ytd_year_end)s)")
    columns = ", ".join(FIGURE_FIELDS)
    return f"""SELECT enrolment_id, {columns} FROM {TABLE}
                WHERE school_id = %(school)s AND kind = 'year' AND start = %(ytd_start)s AND NOT {later}
               UNION ALL
               SELECT * FROM ({general}) AS general WHERE {later}""", params
