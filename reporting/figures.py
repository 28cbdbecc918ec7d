# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""Figures for any date range, per enrolment, from the summaries.

A range is read as a mask over each academic-year row it overlaps: the count of a category is the
number of set bits under the mask, so a year-to-date figure, a term or a single day reads one row per
enrolment and no marks. Days in no academic year have no summary and are counted from the marks.
Groups are sums of enrolments, never averages of percentages (DfE methodology).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from registers.calendar import SchoolCalendar

from .models import CATEGORY_FIELDS, FIGURE_FIELDS
from .summaries import CATEGORIES_SQL, MARKS, TABLE

# Persistent and severe absence (DfE): a pupil who missed at least this share of their possible sessions.
# Compared in whole numbers, so exactly 10 % is persistent (DfE's exact method since 2015/16). Every
# reader, in Python or in SQL, asks the four functions below.
PERSISTENT_ABSENCE_PERCENT = 10
SEVERE_ABSENCE_PERCENT = 50


def is_persistent(absence: int, possible: int) -> bool:
    return possible > 0 and 100 * absence >= PERSISTENT_ABSENCE_PERCENT * possible


def is_severe(absence: int, possible: int) -> bool:
    return possible > 0 and 100 * absence >= SEVERE_ABSENCE_PERCENT * possible


def persistent_sql(absence: str, possible: str) -> str:
    """SQL: true when the counts `absence` of `possible` (SQL expressions) are persistent absence."""
    return f"(({possible}) > 0 AND 100 * ({absence}) >= {PERSISTENT_ABSENCE_PERCENT} * ({possible}))"


def severe_sql(absence: str, possible: str) -> str:
    return f"(({possible}) > 0 AND 100 * ({absence}) >= {SEVERE_ABSENCE_PERCENT} * ({possible}))"


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
    def missed(self) -> int:
        """Possible sessions not attended (absences, and late after the register closed)."""
        return self.possible - self.attendance

    @property
    def persistent_absence(self) -> bool:
        return is_persistent(self.absence, self.possible)

    @property
    def severe_absence(self) -> bool:
        return is_severe(self.absence, self.possible)

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


# Each figure as a sum of categories (CATEGORY_FIELDS), in FIGURE_FIELDS order; None is minutes late.
_POSSIBLE = tuple(f for f in CATEGORY_FIELDS if f != "not_possible")
_UNAUTHORISED = ("reason_not_established", "unauthorised_g", "unauthorised_o", "late_after_close")
FIGURE_CATEGORIES: dict[str, tuple[str, ...] | None] = {
    "possible": _POSSIBLE,
    "present": ("on_time", "late_before_close"),
    "late_before_close": ("late_before_close",),
    "approved_educational_activity": ("approved_educational_activity",),
    "authorised": ("illness", "authorised_other"),
    "illness": ("illness",),
    "unauthorised": _UNAUTHORISED,
    "unauthorised_gno": _UNAUTHORISED[:-1],
    "reason_not_established": ("reason_not_established",),
    "late_after_close": ("late_after_close",),
    "minutes_late": None,
    "not_possible": ("not_possible",),
}
assert tuple(FIGURE_CATEGORIES) == FIGURE_FIELDS  # noqa: S101


def figures_from_counts_sql() -> str:
    """The figures, summed per enrolment, from a relation with one count column per category and
    `minutes`; a group of rows per enrolment (one per year row or part of a range)."""
    columns = []
    for name, members in FIGURE_CATEGORIES.items():
        summed = "minutes" if members is None else " + ".join(members)
        columns.append(f"sum({summed})::int AS {name}")
    return ", ".join(columns)


def range_figures_sql(calendar: SchoolCalendar, start: dt.date, end: dt.date) -> tuple[str, dict[str, Any]]:
    """SQL giving (enrolment_id, figures…) for [start, end]; needs %(school)s among its parameters."""
    parts = []
    params: dict[str, Any] = {}
    for i, year in enumerate(calendar.years_overlapping(start, end)):
        first, last = year.span(start, end)  # type: ignore[misc]  # the year overlaps [start, end], so its span is set
        whole = first == 0 and last == year.slots - 1
        params |= {f"year_{i}": year.start, f"mask_{i}": year.mask(first, last), f"first_{i}": first,
                   f"last_{i}": last}
        counts = ", ".join(
            f"bit_count({name}) AS {name}" if whole else f"bit_count({name} & %(mask_{i})s::varbit) AS {name}"
            for name in CATEGORY_FIELDS)
        minutes = ("(SELECT coalesce(sum(v::int), 0) FROM jsonb_each_text(minutes_late) AS j(k, v) "
                   f"WHERE k::int BETWEEN %(first_{i})s AND %(last_{i})s)")
        parts.append(f"""SELECT enrolment_id, {counts},
                                CASE WHEN minutes_late = '{{}}'::jsonb THEN 0 ELSE {minutes} END AS minutes
                           FROM {TABLE} WHERE school_id = %(school)s AND start = %(year_{i})s""")
    for i, (raw_from, raw_to) in enumerate(calendar.outside_years(start, end)):
        params |= {f"raw_from_{i}": raw_from, f"raw_to_{i}": raw_to}
        counts = ", ".join(f"count(*) FILTER (WHERE c.cat = {n}) AS {name}"
                           for n, name in enumerate(CATEGORY_FIELDS, start=1))
        parts.append(f"""SELECT m.enrolment_id, {counts}, coalesce(sum(m.minutes_late), 0) AS minutes
                           FROM {MARKS} m JOIN {CATEGORIES_SQL} ON c.code = m.code
                          WHERE m.school_id = %(school)s AND m.date BETWEEN %(raw_from_{i})s AND %(raw_to_{i})s
                          GROUP BY m.enrolment_id""")
    if not parts:
        zeros = ", ".join(f"0 AS {name}" for name in CATEGORY_FIELDS)
        parts.append(f"SELECT NULL::bigint AS enrolment_id, {zeros}, 0 AS minutes WHERE false")
    union = " UNION ALL ".join(f"({p})" for p in parts)
    return f"SELECT enrolment_id, {figures_from_counts_sql()} FROM ({union}) AS parts GROUP BY enrolment_id", params
