# ruff: noqa: S608 - SQL is assembled only from this package's constants (category names, labels);
# every value from outside (school ids, dates, masks) is a bound parameter.
"""Governor and trust dashboards: one set-based statement per view over the summaries.

A view's statement reads each enrolment's summary row once per year it needs, counts bits under the
period's masks and aggregates with GROUPING SETS (whole school, year groups, cohorts; or every school of
a trust), returning one JSON document. Nothing here loops over schools or pupils. What leaves this
module is raw counts; `reporting.dashboard_tables` passes every figure through `reporting.disclosure`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from attendance_portal.models import School
from registers.calendar import SchoolCalendar, Year, calendars_for

from . import dashboard_cache
from .figures import persistent_sql, severe_sql
from .forecasts import (
    ABSENT_BITS,
    POSSIBLE_BITS,
    SchoolForecast,
    Window,
    aggregate_sql,
    bits_sql,
    forecast_window,
    projected_persistent_sql,
    window_params,
    year_end_pa_sql,
)
from .periods import Period
from .summaries import TABLE

AUTHORISED_BITS = bits_sql("authorised")
UNAUTHORISED_BITS = bits_sql("unauthorised")
LATE_BITS = "(s.late_before_close | s.late_after_close)"
# Absence by reason, from the summary's categories (each a code or a family of codes).
REASONS: dict[str, tuple[str, str]] = {
    "illness": ("Illness (I)", "s.illness"),
    "authorised_other": ("Other authorised: appointments, religious observance, holiday agreed, excluded… "
                         "(M R H E C C1 J1 C2 S T)", "s.authorised_other"),
    "reason_not_established": ("Reason not yet given (N)", "s.reason_not_established"),
    "unauthorised_g": ("Holiday not agreed (G)", "s.unauthorised_g"),
    "unauthorised_o": ("Other unauthorised (O)", "s.unauthorised_o"),
    "late_after_close": ("Late after registers closed (U)", "s.late_after_close"),
}
# Pupils by attendance band, DfE style; the bands split the pupils and agree with PA (10 %) and SA (50 %).
BANDS: dict[str, tuple[str, str]] = {
    "full": ("100%", "x.absent = 0"),
    "b95": ("95% to under 100%", "x.absent > 0 AND 20 * x.absent <= x.poss"),
    "b90": ("Over 90% to under 95%", f"20 * x.absent > x.poss AND NOT {persistent_sql('x.absent', 'x.poss')}"),
    "b50": ("Over 50% to 90% (persistent absence)",
            f"{persistent_sql('x.absent', 'x.poss')} AND NOT {severe_sql('x.absent', 'x.poss')}"),
    "sa": ("50% or less (severe absence)", severe_sql("x.absent", "x.poss")),
}
# Cohorts: label and SQL over the per-enrolment relation x (the pupil's flags and sex).
COHORTS: dict[str, tuple[str, str]] = {
    "sen_support": ("SEN support", "x.sen = 'K'"),
    "ehcp": ("Education, health and care plan", "x.sen = 'E'"),
    "fsm": ("Free school meals", "x.fsm"),
    "eal": ("English as an additional language", "x.eal"),
    "looked_after": ("Looked-after children", "x.looked_after"),
    "child_in_need": ("Children in need", "x.child_in_need"),
    "social_worker": ("Pupils with a social worker", "x.has_social_worker"),
    "female": ("Female pupils", "x.sex = 'F'"),
    "male": ("Male pupils", "x.sex = 'M'"),
}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
COUNT_COLUMNS = ("pupils", "pa", "sa", "poss", "absent", "authorised", "unauthorised", "late",
                 *(f"band_{b}" for b in BANDS), *(f"reason_{r}" for r in REASONS))


def _per_enrolment_sql(mask: str) -> str:
    """Counts per summary row under `mask` (an SQL expression of the row's own length)."""
    reasons = ", ".join(f"bit_count({column} & {mask}) AS reason_{key}" for key, (_, column) in REASONS.items())
    return f"""bit_count({POSSIBLE_BITS} & {mask}) AS poss, bit_count({ABSENT_BITS} & {mask}) AS absent,
               bit_count({AUTHORISED_BITS} & {mask}) AS authorised,
               bit_count({UNAUTHORISED_BITS} & {mask}) AS unauthorised,
               bit_count({LATE_BITS} & {mask}) AS late, {reasons}"""


def _aggregates_sql() -> str:
    bands = ", ".join(f"count(*) FILTER (WHERE {where}) AS band_{key}" for key, (_, where) in BANDS.items())
    sums = ", ".join(f"sum(x.{c})::bigint AS {c}" for c in
                     ("poss", "absent", "authorised", "unauthorised", "late", *(f"reason_{r}" for r in REASONS)))
    return f"""count(*) AS pupils, count(*) FILTER (WHERE {persistent_sql('x.absent', 'x.poss')}) AS pa,
               count(*) FILTER (WHERE {severe_sql('x.absent', 'x.poss')}) AS sa, {bands}, {sums}"""


@dataclass(frozen=True)
class Counts:
    """Raw sums for one group over one period (never shown without `reporting.disclosure`)."""

    pupils: int = 0
    pa: int = 0
    sa: int = 0
    poss: int = 0
    absent: int = 0
    authorised: int = 0
    unauthorised: int = 0
    late: int = 0
    bands: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Counts:
        return cls(*(int(row.get(c) or 0) for c in COUNT_COLUMNS[:8]),  # type: ignore[misc,arg-type]  # the eight counts fill the eight int fields in order
                   bands={b: int(row.get(f"band_{b}") or 0) for b in BANDS},
                   reasons={r: int(row.get(f"reason_{r}") or 0) for r in REASONS})

    @classmethod
    def total(cls, parts: Iterable[Counts]) -> Counts:
        """The sum of groups with no pupil in two of them (schools of a trust): every count adds up."""
        found = list(parts)
        return cls(*(sum(getattr(c, column) for c in found) for column in COUNT_COLUMNS[:8]),  # type: ignore[misc]  # the eight counts fill the eight int fields in order
                   bands={b: sum(c.bands.get(b, 0) for c in found) for b in BANDS},
                   reasons={r: sum(c.reasons.get(r, 0) for c in found) for r in REASONS})

    def rate(self, sessions: int) -> float | None:
        return round(100 * sessions / self.poss, 2) if self.poss else None

    @property
    def attendance_rate(self) -> float | None:
        return self.rate(self.poss - self.absent)

    @property
    def absence_rate(self) -> float | None:
        return self.rate(self.absent)

    @property
    def authorised_rate(self) -> float | None:
        return self.rate(self.authorised)

    @property
    def unauthorised_rate(self) -> float | None:
        return self.rate(self.unauthorised)

    @property
    def late_rate(self) -> float | None:
        return self.rate(self.late)

    def pupil_rate(self, count: int) -> float | None:
        return round(100 * count / self.pupils, 2) if self.pupils else None


@dataclass(frozen=True)
class WeekPoint:
    number: int  # school week of the year, from 1
    monday: dt.date
    this_year: float | None
    last_year: float | None


@dataclass(frozen=True)
class SchoolDashboard:
    school: School
    period: Period
    whole: Counts
    last_whole: Counts
    year_groups: dict[str, Counts]
    last_year_groups: dict[str, Counts]
    cohorts: dict[str, Counts]
    last_cohorts: dict[str, Counts]
    weeks: list[WeekPoint]
    days: dict[tuple[int, str], tuple[int, int]]  # (weekday, AM/PM) -> (absent, possible)
    forecast: SchoolForecast | None
    year_cohorts: dict[tuple[str, str], Counts] = field(default_factory=dict)  # (year group, cohort)


def _school_weeks(calendar: SchoolCalendar, year: Year, up_to: dt.date) -> list[tuple[int, dt.date, int, int]]:
    """(number, monday, first slot, slots) for each school week of the year up to `up_to`."""
    found = []
    mondays = [m for m in calendar.week_mondays if year.start <= m + dt.timedelta(days=4) and m <= min(up_to,
                                                                                                        year.end)]
    for n, monday in enumerate(mondays, start=1):
        first = year.slot(max(monday, year.start), "AM")
        last = year.slot(min(monday + dt.timedelta(days=6), year.end, up_to), "PM")
        found.append((n, monday, first, last - first + 1))
    return found


def _day_masks(year: Year, start: dt.date, end: dt.date) -> list[tuple[int, str, str]]:
    """(weekday, AM/PM, mask of those sessions in [start, end]) for Monday to Friday, in one pass over the days."""
    bits = {(weekday, session): ["0"] * year.slots for weekday in range(5) for session in ("AM", "PM")}
    day = max(start, year.start)
    while day <= min(end, year.end):
        if day.weekday() < 5:
            for session in ("AM", "PM"):
                bits[(day.weekday(), session)][year.slot(day, session)] = "1"
        day += dt.timedelta(days=1)
    return [(weekday, session, "".join(found)) for (weekday, session), found in bits.items()]


NO_YEAR = dt.date(1900, 1, 1)


def school_dashboard(*, school: School, period: Period, calendar: SchoolCalendar, on: dt.date,
                     year_group: str | None = None) -> SchoolDashboard:
    """Everything a governor page shows, raw, in one statement. With `year_group`, only that year's
    pupils."""
    year, last = period.year, period.last_year
    mask = year.range_mask(period.start, period.end) or year.zero
    last_mask = (last.range_mask(period.last_start, period.last_end)  # type: ignore[arg-type]  # a period with a last year has its last dates
                 if last else None) or "0"
    weeks_now = _school_weeks(calendar, year, period.end)
    weeks_last = _school_weeks(calendar, last, last.end)[:len(weeks_now)] if last else []
    week_rows = [(True, n, first, length) for n, _, first, length in weeks_now] + \
                [(False, n, first, length) for n, _, first, length in weeks_last]
    days = _day_masks(year, period.start, period.end)
    window = forecast_window(calendar=calendar, on=min(on, period.end) if period.kind != "custom" else on)
    pupils_filter = "AND p.year_group = %(year_group)s" if year_group else ""
    cohort_sets = ", ".join(f"(x.cur, ({where})), (x.cur, x.year_group, ({where}))" for _, where in COHORTS.values())
    cohort_label = " ".join(
        f"WHEN GROUPING(({where})) = 0 THEN CASE WHEN ({where}) THEN CASE WHEN GROUPING(x.year_group) = 0 "
        f"THEN 'year:' || x.year_group || '|{key}' ELSE '{key}' END END" for key, (_, where) in COHORTS.items())
    params: dict[str, Any] = {
        "school": school.pk, "y": year.start, "ly": last.start if last else NO_YEAR, "m": mask, "lm": last_mask,
        "w_cur": [w[0] for w in week_rows], "w_n": [w[1] for w in week_rows],
        "w_first": [w[2] + 1 for w in week_rows], "w_len": [w[3] for w in week_rows],
        "d_day": [d[0] for d in days], "d_session": [d[1] for d in days], "d_mask": [d[2] for d in days],
        "year_group": year_group,
    }
    forecast_sql = "SELECT NULL::json"
    if window is not None and window.year_start == year.start:
        params |= window_params(window)
        forecast_sql = f"SELECT row_to_json(f) FROM ({aggregate_sql(source='b')}) f"
    this_or_last = "CASE WHEN s.start = %(y)s THEN %(m)s::varbit ELSE %(lm)s::varbit END"
    pupils_join = f"""JOIN registers_enrolment e ON e.id = s.enrolment_id AND e.school_id = %(school)s
                      JOIN registers_pupil p ON p.id = e.pupil_id AND p.school_id = %(school)s {pupils_filter}"""
    # Each summary row is read once (b); the possible and absent bits are OR-ed once per row, and the
    # weeks and weekdays count bits of those two strings only.
    sql = f"""
        WITH b AS MATERIALIZED (
            SELECT s.start = %(y)s AS cur, p.year_group, p.sen, p.fsm, p.eal, p.looked_after, p.child_in_need,
                   p.has_social_worker, p.sex, {_per_enrolment_sql(this_or_last)},
                   {POSSIBLE_BITS} AS pb, {ABSENT_BITS} AS ab
              FROM {TABLE} s {pupils_join}
             WHERE s.school_id = %(school)s AND s.start IN (%(y)s, %(ly)s)),
        x AS (SELECT * FROM b),
        g AS (
            SELECT x.cur, CASE {cohort_label} WHEN GROUPING(x.year_group) = 0 THEN 'year:' || x.year_group
                               ELSE 'all' END AS grp, {_aggregates_sql()}
              FROM x WHERE x.poss > 0
             GROUP BY GROUPING SETS ((x.cur), (x.cur, x.year_group), {cohort_sets})),
        w AS (
            SELECT w.cur, w.n, sum(bit_count(substring(b.pb FROM w.first FOR w.len)))::bigint AS poss,
                   sum(bit_count(substring(b.ab FROM w.first FOR w.len)))::bigint AS absent
              FROM b JOIN unnest(%(w_cur)s::bool[], %(w_n)s::int[], %(w_first)s::int[], %(w_len)s::int[])
                   AS w(cur, n, first, len) ON b.cur = w.cur
             GROUP BY w.cur, w.n),
        d AS (
            SELECT d.day, d.session, sum(bit_count(b.ab & d.mask))::bigint AS absent,
                   sum(bit_count(b.pb & d.mask))::bigint AS poss
              FROM b CROSS JOIN unnest(%(d_day)s::int[], %(d_session)s::text[], %(d_mask)s::varbit[])
                   AS d(day, session, mask)
             WHERE b.cur
             GROUP BY d.day, d.session)
        SELECT json_build_object(
            'groups', (SELECT coalesce(json_agg(g), '[]'::json) FROM g WHERE g.grp IS NOT NULL),
            'weeks', (SELECT coalesce(json_agg(w), '[]'::json) FROM w),
            'days', (SELECT coalesce(json_agg(d), '[]'::json) FROM d),
            'forecast', ({forecast_sql}),
            'last_pa', (SELECT row_to_json(l) FROM (
                            SELECT {year_end_pa_sql(possible='bit_count(b.pb)', absent='bit_count(b.ab)')}
                              FROM b WHERE NOT b.cur) l))"""

    def compute(_ids: list[int]) -> dict[int, dict[str, Any]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {school.pk: cursor.fetchone()[0]}  # psycopg2 decodes json

    data = dashboard_cache.per_school(kind="school", statement=sql, params={school.pk: params},
                                      compute=compute)[school.pk]
    return _school_result(school, period, data, weeks_now, weeks_last, window)


def _school_result(school: School, period: Period, data: dict[str, Any], weeks_now: list[tuple[int, dt.date, int, int]],
                   weeks_last: list[tuple[int, dt.date, int, int]], window: Window | None) -> SchoolDashboard:
    now: dict[str, Counts] = {}
    last: dict[str, Counts] = {}
    for row in data["groups"]:
        (now if row["cur"] else last)[row["grp"]] = Counts.from_row(row)

    def split(found: dict[str, Counts], prefix: str) -> dict[str, Counts]:
        return {k.removeprefix(prefix): v for k, v in sorted(found.items()) if k.startswith(prefix) and "|" not in k}

    year_cohorts = {tuple(k.removeprefix("year:").split("|")): v for k, v in now.items()
                    if k.startswith("year:") and "|" in k}

    year_key = _year_sort
    weekly: dict[tuple[bool, int], float | None] = {}
    for row in data["weeks"]:
        weekly[(row["cur"], row["n"])] = (round(100 * (1 - row["absent"] / row["poss"]), 2) if row["poss"] else None)
    weeks = [WeekPoint(n, monday, weekly.get((True, n)), weekly.get((False, n))) for n, monday, _, _ in weeks_now]
    days = {(row["day"], row["session"]): (int(row["absent"]), int(row["poss"])) for row in data["days"]}
    forecast = None
    if data.get("forecast"):
        f = data["forecast"]
        lp = data.get("last_pa") or {}
        forecast = SchoolForecast(int(f["pupils"]), int(f["pa_now"]), int(f["pa_projected"]),
                                  int(lp.get("pupils") or 0), int(lp.get("pa") or 0))
    return SchoolDashboard(
        school=school, period=period, whole=now.get("all", Counts()), last_whole=last.get("all", Counts()),
        year_groups=dict(sorted(split(now, "year:").items(), key=lambda kv: year_key(kv[0]))),
        last_year_groups=split(last, "year:"),
        cohorts={k: now.get(k, Counts()) for k in COHORTS}, last_cohorts={k: last.get(k, Counts()) for k in COHORTS},
        weeks=weeks, days=days, forecast=forecast, year_cohorts=year_cohorts)  # type: ignore[arg-type]  # keys are (year group, cohort) pairs


def _year_sort(year_group: str) -> tuple[int, str]:
    order = {"N1": -3, "N2": -2, "R": -1}
    return (order.get(year_group, int(year_group) if year_group.isdigit() else 99), year_group)


# The trust ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolRow:
    school: School
    period_from: dt.date | None
    period_to: dt.date | None
    now: Counts
    last: Counts

    @property
    def trend(self) -> str:
        """up, down or level: attendance against the same period last year (half a point either way)."""
        a, b = self.now.attendance_rate, self.last.attendance_rate
        if a is None or b is None:
            return "none"
        return "up" if a - b >= 0.5 else ("down" if b - a >= 0.5 else "level")


@dataclass(frozen=True)
class TrustDashboard:
    rows: list[SchoolRow]
    whole: Counts
    last_whole: Counts
    cohorts: dict[str, Counts]
    school_cohorts: dict[tuple[int, str], Counts]
    # Each school's projected year-end PA (forecasts.METHOD) and last year's actual; none for a school with
    # no year set up.
    forecasts: dict[int, SchoolForecast] = field(default_factory=dict)


def trust_dashboard(*, schools: list[School], on: dt.date) -> TrustDashboard:
    """Every school's year to date and the same dates last year, and its cohorts: kept figures for schools
    whose marks and pupils have not changed, one statement for all the others. The trust's totals are
    the schools' counts added up (every count is of enrolments or sessions, so sums are exact)."""
    calendars = calendars_for(schools=schools)
    # Per school: this year to date and the same dates last year. The forecast's recent weeks and sessions
    # left are worked out only for the schools whose figures are computed (they follow from the calendar and
    # the day, which the kept figures' key already holds).
    periods: dict[int, list[tuple[dt.date, bool, str]]] = {}
    spans: dict[int, tuple[dt.date, dt.date]] = {}
    for school in schools:
        calendar = calendars[school.pk]
        year = calendar.year_for(on)
        if year is None:
            continue
        end = min(on, year.end)
        spans[school.pk] = (year.start, end)
        periods[school.pk] = [(year.start, True, year.range_mask(year.start, end) or year.zero)]
        before = [y for y in calendar.years if y.end < year.start]
        if before:
            previous = before[-1]
            last_end = min(previous.end, previous.start + (end - year.start))
            periods[school.pk].append((previous.start, False,
                                       previous.range_mask(previous.start, last_end) or previous.zero))
    found = dashboard_cache.per_school(
        kind="trust", statement=TRUST_SQL, params={i: (p, on) for i, p in periods.items()},
        compute=lambda ids: _trust_compute(ids, periods, {i: forecast_window(calendar=calendars[i], on=on)
                                                          for i in ids}))
    now: dict[str, Counts] = {}
    last: dict[str, Counts] = {}
    for school_id, school_rows in found.items():
        for row in school_rows:
            grp = f"school:{school_id}" if row["grp"] == "all" else f"school:{school_id}:{row['grp']}"
            (now if row["cur"] else last)[grp] = Counts.from_row(row)
    rows = [SchoolRow(s, *spans.get(s.pk, (None, None)), now.get(f"school:{s.pk}", Counts()),  # type: ignore[call-arg]  # the span is two dates, or two Nones
                      last.get(f"school:{s.pk}", Counts())) for s in schools]
    school_cohorts = {(s.pk, k): now.get(f"school:{s.pk}:{k}", Counts()) for s in schools for k in COHORTS}
    forecasts = {school_id: SchoolForecast(int(row["pupils"]), int(row["pa"]), int(row["pa_projected"]),
                                           int(row.get("last_year_pupils") or 0), int(row.get("last_year_pa") or 0))
                 for school_id, school_rows in found.items() for row in school_rows
                 if row["cur"] and row["grp"] == "all"}
    return TrustDashboard(rows, Counts.total(r.now for r in rows), Counts.total(r.last for r in rows),
                          {k: Counts.total(school_cohorts[(s.pk, k)] for s in schools) for k in COHORTS},
                          school_cohorts, forecasts)


def _trust_sql() -> str:
    cohort_sets = ", ".join(f"(x.school_id, x.cur, ({where}))" for _, where in COHORTS.values())
    cohort_label = " ".join(f"WHEN GROUPING(({where})) = 0 THEN CASE WHEN ({where}) THEN '{key}' END"
                            for key, (_, where) in COHORTS.items())
    return f"""
        WITH pr AS (SELECT * FROM unnest(%(p_school)s::bigint[], %(p_start)s::date[], %(p_cur)s::bool[],
                                         %(p_mask)s::varbit[], %(p_recent)s::varbit[], %(p_remaining)s::int[])
                                  AS pr(school_id, start, cur, mask, recent, remaining)),
        x AS MATERIALIZED (
            SELECT s.school_id, pr.cur, p.sen, p.fsm, p.eal, p.looked_after, p.child_in_need,
                   p.has_social_worker, p.sex, pr.remaining,
                   bit_count({POSSIBLE_BITS} & pr.recent) AS recent_poss,
                   bit_count({ABSENT_BITS} & pr.recent) AS recent_absent,
                   bit_count({POSSIBLE_BITS}) AS year_poss, bit_count({ABSENT_BITS}) AS year_absent,
                   {_per_enrolment_sql('pr.mask')}
              FROM pr JOIN {TABLE} s ON s.school_id = pr.school_id AND s.start = pr.start
              JOIN registers_enrolment e ON e.id = s.enrolment_id AND e.school_id = s.school_id
              JOIN registers_pupil p ON p.id = e.pupil_id AND p.school_id = s.school_id
             WHERE s.school_id = ANY(%(schools)s)),
        g AS (
            SELECT x.school_id, x.cur, CASE {cohort_label} ELSE 'all' END AS grp, {_aggregates_sql()},
                   count(*) FILTER (WHERE {projected_persistent_sql('x.remaining')}) AS pa_projected
              FROM x WHERE x.poss > 0
             GROUP BY GROUPING SETS ((x.school_id, x.cur), {cohort_sets})),
        -- Last year's persistent absence at its end, set beside the school's projection: over the whole of
        -- last year's marks, so every pupil with a possible session that year (g keeps only those with one
        -- in the same dates).
        l AS (
            SELECT x.school_id, {year_end_pa_sql(possible='x.year_poss', absent='x.year_absent')}
              FROM x WHERE NOT x.cur GROUP BY x.school_id)
        SELECT coalesce(json_agg(r), '[]'::json) FROM (
            SELECT g.*, l.pupils AS last_year_pupils, l.pa AS last_year_pa
              FROM g LEFT JOIN l ON g.cur AND g.grp = 'all' AND l.school_id = g.school_id
             WHERE g.grp IS NOT NULL) r"""


TRUST_SQL = _trust_sql()


def _trust_compute(school_ids: list[int], periods: dict[int, list[tuple[dt.date, bool, str]]],
                   windows: dict[int, Window | None]) -> dict[int, list[dict[str, Any]]]:
    """The figures of these schools (each school's groups as rows), in one statement. This year's rows carry
    the forecast's recent weeks and sessions left (`windows`); last year's project nothing."""
    chosen = []
    for school_id in school_ids:
        window = windows.get(school_id)
        for start, cur, mask in periods[school_id]:
            if cur and window is not None and window.year_start == start:
                recent, remaining = window.recent, window.remaining
            else:
                recent, remaining = "0" * len(mask), 0
            chosen.append((school_id, start, cur, mask, recent, remaining))
    params: dict[str, Any] = {"p_school": [p[0] for p in chosen], "p_start": [p[1] for p in chosen],
              "p_cur": [p[2] for p in chosen], "p_mask": [p[3] for p in chosen],
              "p_recent": [p[4] for p in chosen], "p_remaining": [p[5] for p in chosen], "schools": school_ids}
    with connection.cursor() as cursor:
        cursor.execute(TRUST_SQL, params)
        data = cursor.fetchone()[0]
    found: dict[int, list[dict[str, Any]]] = {school_id: [] for school_id in school_ids}
    for row in data:
        found[row["school_id"]].append(row)
    return found
