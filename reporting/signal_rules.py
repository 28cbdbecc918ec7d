# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""The signals: who needs attention as of a day, each with the day it started and its evidence.

Each rule is one set-based statement over the summaries (the few-days edges come from marks), and
only the handful of enrolments a rule selects have their marks read to find the start and the
evidence. Definitions (dfe-rules §2.1, R7, R11–R13, R16, §4.1):

* persistent / severe absence, at risk, below the letter threshold: academic year to date, integer
  comparisons. `since` is the first day of the current unbroken run of days at whose end the
  condition held (found from the weekly summaries, then day by day inside one week).
* punctuality: more than N late sessions (L, U) in the last M school weeks.
* penalty threshold: 10+ sessions G/N/O/U (N per policy) in the 10 most recent school weeks ending
  with the week containing the day, sessions on or before the day; compulsory school age, state-funded
  schools only. `since` is the day the 10th session in the window was recorded.
* N not replaced within 5 school days; 10 school days' continuous G/N/O/U; 15 school days of illness in
  the school year; 20 school days' continuous G/N/O. The statutory returns concern pupils of
  compulsory school age, so those rules apply to them only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from psycopg2.extensions import TRANSACTION_STATUS_INERROR

from attendance_portal.models import School
from registers import codes
from registers.ages import compulsory_school_age_births
from registers.models import SchoolPolicy

from .calendar import SchoolCalendar
from .figures import range_figures_sql
from .models import FIGURE_FIELDS, SignalKind
from .summaries import MARKS, TABLE

PENALTY_SESSIONS = 10
PENALTY_WEEKS = 10
ILLNESS_SESSIONS = 30  # 15 school days
CONTINUOUS_UNAUTHORISED_SESSIONS = 20  # 10 school days
CONTINUOUS_GNO_SESSIONS = 40  # 20 school days
K = SignalKind
ABSENCE = codes.AUTHORISED | codes.UNAUTHORISED


@dataclass(frozen=True)
class Signal:
    enrolment_id: int
    kind: str
    since: dt.date
    sessions: int
    evidence: dict[str, Any]


def _basis_points(percent: Decimal | float | int) -> int:
    return round(Decimal(str(percent)) * 100)


def _roll_sql(*, compulsory_only: bool = False) -> str:
    age = " AND p.date_of_birth BETWEEN %(csa_from)s AND %(csa_to)s" if compulsory_only else ""
    return f"""SELECT e.id AS enrolment_id FROM registers_enrolment e JOIN registers_pupil p ON p.id = e.pupil_id
                WHERE e.school_id = %(school)s AND p.school_id = %(school)s AND e.admission_date <= %(on)s
                  AND (e.leaving_date IS NULL OR e.leaving_date >= %(on)s){age}"""


def _fetch(sql: str, params: dict[str, Any], *, hash_joins: bool = False) -> list[tuple[Any, ...]]:
    """Run one statement. `hash_joins`: the statement chains CTEs whose sizes the planner cannot
    estimate (it assumes one or two rows) and would join them by nested loops, quadratic in the number
    of flagged pupils (measured: most of a second per school); its index lookups are written as
    LATERAL … OFFSET 0, which stay nested loops whatever this setting says."""
    with connection.cursor() as cursor:
        if not hash_joins:
            cursor.execute(sql, params)
            return cursor.fetchall()
        # No JIT either: the penalty the planner puts on the nested loops it must keep would make the
        # plan look costly enough to compile (a second of compiling for a statement of milliseconds).
        cursor.execute("SET enable_nestloop = off; SET jit = off")
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            # In a failed transaction nothing can run, and its rollback undoes the SET anyway.
            if connection.connection.get_transaction_status() != TRANSACTION_STATUS_INERROR:
                cursor.execute("RESET enable_nestloop; RESET jit")


def _in_list(members: frozenset[str] | set[str]) -> str:
    return ", ".join(f"'{c}'" for c in sorted(members))


def _covering_sql(calendar: SchoolCalendar, start: dt.date, end: dt.date,
                  params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(enrolment_id, figures…) summed over the whole summary buckets that cover [start, end]: at least
    the figures of the range, never fewer. Enough to choose the enrolments whose marks are then read
    and counted exactly, and it reads no marks (the buckets of the run's day are already up to date)."""
    sums = ", ".join(f"sum({f})::int AS {f}" for f in FIGURE_FIELDS)
    return f"""SELECT enrolment_id, {sums} FROM {TABLE}
                WHERE school_id = %(school)s AND kind = 'week'
                  AND start >= %(cover_from)s AND start <= %(cover_to)s
                GROUP BY enrolment_id""", {
        **params, "cover_from": calendar.bucket_start(start), "cover_to": end}


def _sessions_sql(alias: str, listed: str, date_from: str | None = None) -> str:
    """The marks with a code in `listed` of enrolment `alias`.enrolment_id up to %(on)s (from `date_from`):
    one range of the index of marks other than plain present ones. OFFSET 0 keeps it a per-enrolment
    lookup whatever the planner thinks of the number of enrolments."""
    since = f" AND x.date >= {date_from}" if date_from else ""
    return f"""SELECT x.enrolment_id, x.date, x.session, x.code FROM {MARKS} x
                WHERE x.school_id = %(school)s AND x.enrolment_id = {alias}.enrolment_id
                  AND x.code NOT IN ({_in_list(codes.ON_TIME)}) AND x.code IN ({listed}){since}
                  AND x.date <= %(on)s
               OFFSET 0"""


def signals_compute(*, school: School, calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy) -> list[Signal]:
    csa_from, csa_to = compulsory_school_age_births(on=on)
    params: dict[str, Any] = {"school": school.pk, "on": on, "csa_from": csa_from, "csa_to": csa_to}
    found = [
        *_rate_signals(calendar, on, policy, params),
        *_window_signals(calendar, on, params, kind=K.PUNCTUALITY, weeks=policy.punctuality_weeks,
                         more_than=policy.punctuality_lates, codes_counted=codes.LATE,
                         figure="late_before_close + late_after_close", compulsory_only=False),
        *_n_overdue(calendar, on, policy, params),
        *_illness(calendar, on, params),
        *_continuous(calendar, on, params, kind=K.CONTINUOUS_UNAUTHORISED_10_DAYS,
                     codes_counted=codes.UNAUTHORISED, figure="unauthorised",
                     sessions=CONTINUOUS_UNAUTHORISED_SESSIONS),
        *_continuous(calendar, on, params, kind=K.CONTINUOUS_ABSENCE_20_DAYS,
                     codes_counted=codes.UNAUTHORISED - {"U"}, figure="unauthorised_gno",
                     sessions=CONTINUOUS_GNO_SESSIONS),
    ]
    if school.state_funded:
        counted = set(codes.PENALTY_THRESHOLD) - (set() if policy.penalty_threshold_counts_n else {"N"})
        figure = "unauthorised" if policy.penalty_threshold_counts_n else "unauthorised - reason_not_established"
        found += _window_signals(calendar, on, params, kind=K.PENALTY_THRESHOLD, weeks=PENALTY_WEEKS,
                                 more_than=PENALTY_SESSIONS - 1, codes_counted=frozenset(counted), figure=figure,
                                 compulsory_only=True)
    return sorted(found, key=lambda s: (s.enrolment_id, s.kind, s.since))


# Year-to-date rates -----------------------------------------------------------------------------------
def _condition(kind: str, possible: str, absence: str, attendance: str) -> str:
    return f"""CASE {kind}
        WHEN 'persistent_absence' THEN {possible} > 0 AND 10 * {absence} >= {possible}
        WHEN 'severe_absence' THEN {possible} > 0 AND 2 * {absence} >= {possible}
        WHEN 'at_risk' THEN {possible} > 0 AND 10 * {absence} < {possible}
                            AND 10000 * {absence} >= %(at_risk_bp)s * {possible}
        WHEN 'below_threshold' THEN {possible} > 0 AND 10000 * {attendance} < %(threshold_bp)s * {possible}
        END"""


def _rate_signals(calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy,
                  params: dict[str, Any]) -> list[Signal]:
    year = calendar.year_for(on)
    if year is None or on < year.start:
        return []
    ytd_sql, ytd_params = range_figures_sql(calendar, year.start, min(on, year.end))
    params = {**params, **ytd_params, "year_start": year.start,
              "at_risk_bp": _basis_points(policy.at_risk_absence_percent),
              "threshold_bp": _basis_points(policy.letter_threshold_percent)}
    kinds = ", ".join(f"('{k}')" for k in (K.PERSISTENT_ABSENCE, K.SEVERE_ABSENCE, K.AT_RISK, K.BELOW_THRESHOLD))
    rows = _fetch(f"""
        WITH ytd AS ({ytd_sql}),
        flagged AS (
            SELECT y.enrolment_id, k.kind, y.possible, y.authorised + y.unauthorised AS absence,
                   y.present + y.approved_educational_activity AS attendance
              FROM ytd y JOIN ({_roll_sql()}) r USING (enrolment_id) CROSS JOIN (VALUES {kinds}) AS k(kind)
             WHERE {_condition('k.kind', 'y.possible', '(y.authorised + y.unauthorised)',
                               '(y.present + y.approved_educational_activity)')}
        ),
        weekly AS (
            SELECT w.enrolment_id, w."end",
                   sum(w.possible) OVER running AS p,
                   sum(w.authorised + w.unauthorised) OVER running AS a,
                   sum(w.present + w.approved_educational_activity) OVER running AS t
              -- One primary-key range per flagged enrolment whatever the statistics say: a school
              -- the statistics have not seen yet is estimated at one row, and a semi-join planned on
              -- that estimate compares every week row with every flagged enrolment (measured: seconds).
              FROM (SELECT DISTINCT enrolment_id FROM flagged) f
             CROSS JOIN LATERAL (
                    SELECT x.* FROM {TABLE} x
                     WHERE x.school_id = %(school)s AND x.enrolment_id = f.enrolment_id AND x.kind = 'week'
                       AND x.start >= %(year_start)s AND x."end" <= %(on)s
                    OFFSET 0) w
            WINDOW running AS (PARTITION BY w.enrolment_id ORDER BY w.start)
        ),
        -- The last week-end where the condition failed, with the running totals there. (One pass
        -- with DISTINCT ON: joining the running totals back by date is planned as a nested loop over
        -- two CTEs whose sizes the planner cannot know, and that cost most of a second per school.)
        last_not AS (
            SELECT DISTINCT ON (f.enrolment_id, f.kind) f.enrolment_id, f.kind, w."end" AS day, w.p, w.a, w.t
              FROM flagged f JOIN weekly w USING (enrolment_id)
             WHERE NOT ({_condition('f.kind', 'w.p', 'w.a', 'w.t')})
             ORDER BY f.enrolment_id, f.kind, w."end" DESC
        ),
        -- The streak began in the bucket after the last week-end where the condition failed: replay
        -- that bucket day by day from the running totals at its start to find the day it began.
        -- MATERIALIZED, with both ends and the pupil as columns: the marks below are then read through
        -- the (school, pupil, date) index one short range at a time instead of every mark of the year.
        streak AS MATERIALIZED (
            SELECT enrolment_id, e.pupil_id, kind, from_day,
                   least({calendar.bucket_end_sql('from_day')}, %(on)s) AS to_day, p0, a0, t0
              FROM (SELECT f.enrolment_id, f.kind, coalesce(l.day + 1, %(year_start)s) AS from_day,
                           coalesce(l.p, 0) AS p0, coalesce(l.a, 0) AS a0, coalesce(l.t, 0) AS t0
                      FROM flagged f LEFT JOIN last_not l USING (enrolment_id, kind)) AS bounds
              JOIN registers_enrolment e ON e.id = bounds.enrolment_id AND e.school_id = %(school)s
        ),
        daily AS (
            SELECT s.enrolment_id, s.kind, m.date,
                   s.p0 + sum(count(*) FILTER (WHERE m.code IN ({_in_list(codes.POSSIBLE)}))) OVER day AS p,
                   s.a0 + sum(count(*) FILTER (WHERE m.code IN ({_in_list(ABSENCE)}))) OVER day AS a,
                   s.t0 + sum(count(*) FILTER (WHERE m.code IN ({_in_list(codes.ATTENDANCE)}))) OVER day AS t
              FROM streak s
              -- LATERAL: one range of the (school, pupil, date) index per enrolment, never a scan of
              -- the marks table nor of the enrolment's whole year.
              JOIN LATERAL (SELECT x.date, x.code FROM {MARKS} x
                             WHERE x.school_id = %(school)s AND x.pupil_id = s.pupil_id
                               AND x.enrolment_id = s.enrolment_id
                               AND x.date BETWEEN s.from_day AND s.to_day
                            OFFSET 0) m ON true
             GROUP BY s.enrolment_id, s.kind, m.date, s.p0, s.a0, s.t0
            WINDOW day AS (PARTITION BY s.enrolment_id, s.kind ORDER BY m.date)
        ),
        -- The first day after the last day where the condition failed (window, not a self-join).
        began AS (
            SELECT enrolment_id, kind, min(date) FILTER (WHERE last_failed IS NULL OR date > last_failed) AS since
              FROM (SELECT d.*, max(d.date) FILTER (WHERE NOT ({_condition('d.kind', 'd.p', 'd.a', 'd.t')}))
                                OVER (PARTITION BY d.enrolment_id, d.kind) AS last_failed
                      FROM daily d) AS marked
             GROUP BY enrolment_id, kind
            HAVING count(*) FILTER (WHERE last_failed IS NULL OR date > last_failed) > 0
        )
        SELECT f.enrolment_id, f.kind, f.possible, f.absence, f.attendance, b.since
          FROM flagged f JOIN began b USING (enrolment_id, kind)
    """, params, hash_joins=True)
    return [
        Signal(enrolment_id, kind, since, absence,
               {"from": year.start.isoformat(), "to": on.isoformat(), "possible": possible, "absence": absence,
                "attendance": attendance})
        for enrolment_id, kind, possible, absence, attendance, since in rows
    ]


# Counts inside a window of school weeks -----------------------------------------------------------
def _window_signals(calendar: SchoolCalendar, on: dt.date, params: dict[str, Any], *, kind: str, weeks: int,
                    more_than: int, codes_counted: frozenset[str], figure: str,
                    compulsory_only: bool) -> list[Signal]:
    window = calendar.recent_school_weeks(on, weeks)
    if not window:
        return []
    # Enrolments over the threshold in the weeks covering the window; their sessions in the window are
    # then counted exactly below.
    counts_sql, params = _covering_sql(calendar, window[0], on, params)
    params = {**params, "window_from": window[0], "more_than": more_than}
    rows = _fetch(f"""
        WITH counts AS ({counts_sql}),
        hit AS (
            SELECT c.enrolment_id FROM counts c JOIN ({_roll_sql(compulsory_only=compulsory_only)}) r
                USING (enrolment_id)
             WHERE {figure} > %(more_than)s
        )
        SELECT m.enrolment_id, m.date, m.session, m.code
          FROM hit h CROSS JOIN LATERAL ({_sessions_sql("h", _in_list(codes_counted), "%(window_from)s")}) m
         ORDER BY m.enrolment_id, m.date, m.session
    """, params)
    return [
        Signal(enrolment_id, kind, sessions[more_than][0], len(sessions),
               {"from": window[0].isoformat(), "to": on.isoformat(), "sessions": _listed(sessions)})
        for enrolment_id, sessions in _by_enrolment(rows).items()
        if len(sessions) > more_than
    ]


def _by_enrolment(rows: list[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for enrolment_id, *rest in rows:
        grouped.setdefault(enrolment_id, []).append(tuple(rest))
    return grouped


def _listed(sessions: list[tuple[Any, ...]]) -> list[list[str]]:
    return [[day.isoformat(), session, code] for day, session, code in sessions]


# N codes not replaced in time --------------------------------------------------------------------
def _n_overdue(calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy, params: dict[str, Any]) -> list[Signal]:
    limit = policy.n_code_limit_school_days
    days = calendar.days_up_to(on)
    if limit < 1 or len(days) < limit:
        return []
    # Overdue when at least `limit` school days have passed since the mark's day. N codes must be
    # replaced within days, so the index of N marks holds hardly any rows.
    params = {**params, "cutoff": days[-limit]}
    rows = _fetch(f"""
        SELECT m.enrolment_id, m.date, m.session, m.code FROM {MARKS} m
         WHERE m.school_id = %(school)s AND m.code = 'N' AND m.date < %(cutoff)s
           AND m.enrolment_id IN ({_roll_sql()})
         ORDER BY m.enrolment_id, m.date, m.session
    """, params)
    found = []
    for enrolment_id, sessions in _by_enrolment(rows).items():
        first_due = _school_day_after(calendar, sessions[0][0], limit)
        found.append(Signal(enrolment_id, K.N_CODE_OVERDUE, first_due, len(sessions),
                            {"sessions": _listed(sessions)}))
    return found


def _school_day_after(calendar: SchoolCalendar, day: dt.date, count: int) -> dt.date:
    later = [d for d in calendar.days if d > day]
    return later[count - 1]


# Illness across the school year --------------------------------------------------------------------
def _illness(calendar: SchoolCalendar, on: dt.date, params: dict[str, Any]) -> list[Signal]:
    year = calendar.year_for(on)
    if year is None or on < year.start:
        return []
    ytd_sql, ytd_params = range_figures_sql(calendar, year.start, min(on, year.end))
    params = {**params, **ytd_params, "year_start": year.start, "at_least": ILLNESS_SESSIONS}
    rows = _fetch(f"""
        WITH ytd AS ({ytd_sql}),
        candidates AS (
            SELECT enrolment_id FROM ytd WHERE illness >= %(at_least)s
             INTERSECT {_roll_sql(compulsory_only=True)}
        )
        SELECT m.enrolment_id, m.date, m.session, m.code
          FROM candidates c CROSS JOIN LATERAL ({_sessions_sql("c", "'I'", "%(year_start)s")}) m
         ORDER BY m.enrolment_id, m.date, m.session
    """, params)
    return [
        Signal(enrolment_id, K.ILLNESS_15_DAYS, sessions[ILLNESS_SESSIONS - 1][0], len(sessions),
               {"from": year.start.isoformat(), "to": on.isoformat(), "sessions": _listed(sessions)})
        for enrolment_id, sessions in _by_enrolment(rows).items()
    ]


# Continuous absence --------------------------------------------------------------------------------
def _continuous(calendar: SchoolCalendar, on: dt.date, params: dict[str, Any], *, kind: str,
                codes_counted: frozenset[str], figure: str, sessions: int) -> list[Signal]:
    """A run of consecutive school sessions, all coded from `codes_counted`, still going on the day."""
    school_sessions = calendar.sessions_up_to(on)
    if len(school_sessions) < sessions:
        return []
    # The run must reach the enrolment's latest marked school session; a register not yet taken at
    # the end neither breaks nor extends it. Candidates have enough such sessions in a generous window.
    window_from = school_sessions[-min(len(school_sessions), 2 * sessions)][0]
    # Candidates: enough counted sessions in the weeks covering the window (a few more than the window
    # at most); the runs themselves are found from the sessions.
    recent_sql, params = _covering_sql(calendar, window_from, on, params)
    params = {**params, "at_least": sessions, "window_from": window_from,
              "days": [d for d, _ in school_sessions], "halves": [s for _, s in school_sessions]}
    rows = _fetch(f"""
        WITH recent AS ({recent_sql}),
        candidates AS (
            SELECT enrolment_id FROM recent WHERE {figure} >= %(at_least)s
             INTERSECT {_roll_sql(compulsory_only=True)}
        ),
        -- School sessions numbered in order; a counted mark's ordinal. Only counted marks are read
        -- (from the index of marks other than plain present ones): anything else in between, a
        -- present mark, another code or a session not marked, leaves a gap in the ordinals.
        school_sessions AS (
            SELECT * FROM unnest(%(days)s::date[], %(halves)s::varchar[]) WITH ORDINALITY AS n(day, half, ordinal)
        ),
        numbered AS (
            SELECT m.enrolment_id, m.date, n.ordinal
              FROM candidates c CROSS JOIN LATERAL ({_sessions_sql("c", _in_list(codes_counted))}) m
              JOIN school_sessions n ON n.day = m.date AND n.half = m.session
        ),
        -- The latest school session the register was taken for, whatever the code: one short range
        -- of the (enrolment, date) index per candidate.
        latest AS (
            SELECT c.enrolment_id, max(n.ordinal) AS ordinal
              FROM candidates c CROSS JOIN LATERAL (
                    SELECT x.date, x.session FROM {MARKS} x
                     WHERE x.enrolment_id = c.enrolment_id AND x.school_id = %(school)s
                       AND x.date BETWEEN %(window_from)s AND %(on)s
                    OFFSET 0) m
              JOIN school_sessions n ON n.day = m.date AND n.half = m.session
             GROUP BY c.enrolment_id
        ),
        islands AS (
            SELECT *, ordinal - row_number() OVER (PARTITION BY enrolment_id ORDER BY ordinal) AS island
              FROM numbered
        )
        SELECT i.enrolment_id, min(i.date), min(i.ordinal), max(i.date), max(i.ordinal), count(*)
          FROM islands i JOIN latest l USING (enrolment_id)
         GROUP BY i.enrolment_id, i.island, l.ordinal
        HAVING max(i.ordinal) = l.ordinal AND count(*) >= %(at_least)s
    """, params)
    return [
        Signal(enrolment_id, kind, first, count,
               {"first": [first.isoformat(), school_sessions[first_ordinal - 1][1]],
                "last": [last.isoformat(), school_sessions[last_ordinal - 1][1]]})
        for enrolment_id, first, first_ordinal, last, last_ordinal, count in rows
    ]


def evidence_json(evidence: dict[str, Any]) -> str:
    return json.dumps(evidence, sort_keys=True)
