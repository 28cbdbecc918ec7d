# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""The signals: who needs attention as of a day, each with the day it started and its evidence.

Every rule counts set bits of the summary rows (`reporting.summaries`) under masks built from the
calendar, in one statement per rule for the whole school; no rule reads the marks except the overdue
`N` rule, which reads a partial index holding only `N` marks. The sessions behind a signal are
decoded from the bits of the few enrolments a rule selects. Definitions (dfe-rules §2.1, R7, R11–R13,
R16, §4.1):

* persistent / severe absence, at risk, below the letter threshold: academic year to date, integer
  comparisons. `since` is the first day with a mark after the last school day (before the run's day)
  at whose end the condition did not hold. A later run reuses the start of a signal that was active
  at its previous run when the enrolment's marks up to that day have not changed and the policy is
  the same; only the days since then are checked. Days are checked at each school week's last day,
  and day by day only in weeks where the margin could have dipped (`_risky`). The signal's count and
  evidence are the year-to-date figures at the end of its first day: what started it.
* punctuality: more than N late sessions (L, U) in the last M school weeks.
* penalty threshold: 10+ sessions G/N/O/U (N per policy) in the 10 most recent school weeks ending
  with the week containing the day, sessions on or before the day; compulsory school age, state-funded
  schools only. `since` is the day the 10th session in the window was recorded.
* N not replaced within 5 school days; 10 school days' continuous G/N/O/U; 15 school days of illness in
  the school year; 20 school days' continuous G/N/O. The statutory returns concern pupils of
  compulsory school age, so those rules apply to them only.

Evidence never holds the run's day, so a signal that goes on unchanged is the same row from one night
to the next and `signals_sync` writes nothing for it: the queues see changes, not the whole school.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from attendance_portal.models import School
from registers.ages import compulsory_school_age_births
from registers.models import SchoolPolicy

from .calendar import SchoolCalendar, Year, monday
from .figures import FIGURE_CATEGORIES
from .models import CATEGORY_FIELDS, SignalKind
from .summaries import CODE_OF, MARKS, TABLE

PENALTY_SESSIONS = 10
PENALTY_WEEKS = 10
ILLNESS_SESSIONS = 30  # 15 school days
CONTINUOUS_UNAUTHORISED_SESSIONS = 20  # 10 school days
CONTINUOUS_GNO_SESSIONS = 40  # 20 school days
K = SignalKind
RATE_KINDS = (K.PERSISTENT_ABSENCE, K.SEVERE_ABSENCE, K.AT_RISK, K.BELOW_THRESHOLD)


@dataclass(frozen=True)
class Signal:
    enrolment_id: int
    kind: str
    since: dt.date
    sessions: int
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Previous:
    """The last completed run of the school: its day and watermark (marks updated at or after the
    watermark may not have been seen by it)."""

    on: dt.date
    watermark: dt.datetime


def _union(categories: tuple[str, ...], alias: str = "s") -> str:
    return "(" + " | ".join(f"{alias}.{c}" for c in categories) + ")"


ABSENCE_BITS = _union((*FIGURE_CATEGORIES["authorised"], *FIGURE_CATEGORIES["unauthorised"]))  # type: ignore[misc]
ATTENDANCE_BITS = _union((*FIGURE_CATEGORIES["present"], *FIGURE_CATEGORIES["approved_educational_activity"]))  # type: ignore[misc]
MARKED_BITS = _union(CATEGORY_FIELDS)


def _basis_points(percent: Decimal | float | int) -> int:
    return round(Decimal(str(percent)) * 100)


def _roll_sql(*, compulsory_only: bool = False) -> str:
    age = " AND p.date_of_birth BETWEEN %(csa_from)s AND %(csa_to)s" if compulsory_only else ""
    return f"""SELECT e.id AS enrolment_id FROM registers_enrolment e JOIN registers_pupil p ON p.id = e.pupil_id
                WHERE e.school_id = %(school)s AND p.school_id = %(school)s AND e.admission_date <= %(on)s
                  AND (e.leaving_date IS NULL OR e.leaving_date >= %(on)s){age}"""


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def policy_key(policy: SchoolPolicy) -> str:
    """What the start dates of the rate signals depend on besides the marks."""
    return f"{_basis_points(policy.at_risk_absence_percent)}:{_basis_points(policy.letter_threshold_percent)}"


def signals_compute(*, school: School, calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy,
                    previous: Previous | None = None) -> list[Signal]:
    """Every signal as of `on`. `previous`: the school's last run, whose stored signals were found under
    the same policy and calendar; it lets ongoing signals keep their start without a walk of the year."""
    csa_from, csa_to = compulsory_school_age_births(on=on)
    params: dict[str, Any] = {"school": school.pk, "on": on, "csa_from": csa_from, "csa_to": csa_to}
    found = [
        *_rate_signals(calendar, on, policy, params, previous),
        *_window_signals(calendar, on, params, kind=K.PUNCTUALITY, weeks=policy.punctuality_weeks,
                         more_than=policy.punctuality_lates, categories=("late_before_close", "late_after_close"),
                         compulsory_only=False),
        *_n_overdue(calendar, on, policy, params),
        *_illness(calendar, on, params),
        *_continuous(calendar, on, params, kind=K.CONTINUOUS_UNAUTHORISED_10_DAYS,
                     categories=FIGURE_CATEGORIES["unauthorised"], sessions=CONTINUOUS_UNAUTHORISED_SESSIONS),  # type: ignore[arg-type]
        *_continuous(calendar, on, params, kind=K.CONTINUOUS_ABSENCE_20_DAYS,
                     categories=FIGURE_CATEGORIES["unauthorised_gno"], sessions=CONTINUOUS_GNO_SESSIONS),  # type: ignore[arg-type]
    ]
    if school.state_funded:
        counted = FIGURE_CATEGORIES["unauthorised"] if policy.penalty_threshold_counts_n \
            else tuple(c for c in FIGURE_CATEGORIES["unauthorised"] if c != "reason_not_established")  # type: ignore[union-attr]
        found += _window_signals(calendar, on, params, kind=K.PENALTY_THRESHOLD, weeks=PENALTY_WEEKS,
                                 more_than=PENALTY_SESSIONS - 1, categories=counted, compulsory_only=True)  # type: ignore[arg-type]
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


def _risky(kind: str, absence: str, attendance: str, week_absence: str, week_attendance: str) -> str:
    """Whether a rate condition can have failed on some day of a week although it holds at the week's
    last day: true when a margin there is smaller than the week's own sessions could have raised it.

    Each condition is margins >= 0 of year-to-date counts a (absence) and t (attendance). Going back
    from the week's last day, a margin can be lower by at most what the week's absences (or, for one
    margin, its attendances) added: possible - 1 by a_w + t_w; for persistent, 9a - t by 9 a_w; for
    severe, a - t by a_w; for at risk, t - 9a - 1 by t_w and (10000 - bp)a - bp.t by (10000 - bp)a_w;
    below the threshold, bp.a - (10000 - bp)t - 1 by bp.a_w."""
    a, t, aw, tw = absence, attendance, week_absence, week_attendance
    return f"""({a} + {t} - 1 - {aw} - {tw} < 0 OR CASE {kind}
        WHEN 'persistent_absence' THEN 9 * {a} - {t} - 9 * {aw} < 0
        WHEN 'severe_absence' THEN {a} - {t} - {aw} < 0
        WHEN 'at_risk' THEN {t} - 9 * {a} - 1 - {tw} < 0
                            OR (10000 - %(at_risk_bp)s) * ({a} - {aw}) - %(at_risk_bp)s * {t} < 0
        WHEN 'below_threshold' THEN %(threshold_bp)s * ({a} - {aw}) - (10000 - %(threshold_bp)s) * {t} - 1 < 0
        END)"""


def _rate_signals(calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy, params: dict[str, Any],
                  previous: Previous | None) -> list[Signal]:
    year = calendar.year_for(on)
    if year is None or on < year.start:
        return []
    end = min(on, year.end)
    params = {**params, "year_start": year.start, "ytd": year.range_mask(year.start, end),
              "at_risk_bp": _basis_points(policy.at_risk_absence_percent),
              "threshold_bp": _basis_points(policy.letter_threshold_percent)}
    kinds = ", ".join(f"('{k}')" for k in RATE_KINDS)
    flagged = _fetch(f"""
        WITH y AS MATERIALIZED (
            SELECT s.enrolment_id, bit_count({ABSENCE_BITS} & %(ytd)s::varbit) AS a,
                   bit_count({ATTENDANCE_BITS} & %(ytd)s::varbit) AS t
              FROM {TABLE} s
             WHERE s.school_id = %(school)s AND s.start = %(year_start)s
               AND s.enrolment_id IN ({_roll_sql()})
        )
        SELECT y.enrolment_id, k.kind FROM y
         CROSS JOIN (VALUES {kinds}) AS k(kind)
         WHERE {_condition('k.kind', '(y.a + y.t)', 'y.a', 'y.t')}""", params)
    if not flagged:
        return []
    kept = _ongoing(calendar, on, year, params, previous)
    # Each flagged (enrolment, kind) is checked at the end of every school day from `lo` to the day
    # before `on`: from the start of the year, or from the previous run's day when its start is kept.
    # First only at each school week's last day (a checkpoint); a week's other days are checked only
    # when the margins at its checkpoint are smaller than the week's own sessions could have moved
    # them (see `_risky`), which is rare once a year is under way.
    school_days = [d for d in calendar.days if year.start <= d < on and d <= year.end]
    checkpoints, previous_checkpoints, checkpoint_of = [], [], []
    last_week_end, pending = year.start - dt.timedelta(days=1), 0
    for n, day in enumerate(school_days):
        pending += 1
        if n + 1 == len(school_days) or monday(school_days[n + 1]) != monday(day):
            checkpoints.append(day)
            previous_checkpoints.append(last_week_end)
            checkpoint_of += [day] * pending
            last_week_end, pending = day, 0
    lows = [previous.on if (e, k) in kept else year.start for e, k in flagged]  # type: ignore[union-attr]
    params |= {
        "enrolments": [row[0] for row in flagged], "kinds": [row[1] for row in flagged], "lows": lows,
        "days": school_days, "checkpoint_of": checkpoint_of, "checkpoints": checkpoints,
        "previous_checkpoints": previous_checkpoints,
    }
    prefix = "bit_count(substring(b.{} FROM 1 FOR (d.day - %(year_start)s::date + 1) * 2))"
    week = ("bit_count(substring(b.{} FROM (d.week_from + 1 - %(year_start)s::date) * 2 + 1"
            " FOR (d.day - d.week_from) * 2))")
    rows = _fetch(f"""
        WITH pairs AS (
            SELECT * FROM unnest(%(enrolments)s::bigint[], %(kinds)s::varchar[], %(lows)s::date[])
                   AS p(enrolment_id, kind, lo)
        ),
        bits AS MATERIALIZED (
            SELECT s.enrolment_id, {ABSENCE_BITS} AS a, {ATTENDANCE_BITS} AS t, {MARKED_BITS} AS marked
              FROM {TABLE} s
             WHERE s.school_id = %(school)s AND s.start = %(year_start)s
               AND s.enrolment_id IN (SELECT enrolment_id FROM pairs)
        ),
        -- Year-to-date totals at each checkpoint, once per enrolment from its earliest `lo` (every
        -- possible session is either attendance or absence).
        at_checkpoints AS MATERIALIZED (
            SELECT b.enrolment_id, d.day, d.week_from, {prefix.format('a')} AS a, {prefix.format('t')} AS t,
                   {week.format('a')} AS aw, {week.format('t')} AS tw
              FROM bits b
              JOIN (SELECT enrolment_id, min(lo) AS lo FROM pairs GROUP BY enrolment_id) l USING (enrolment_id)
              JOIN unnest(%(checkpoints)s::date[], %(previous_checkpoints)s::date[]) AS d(day, week_from)
                ON d.day >= l.lo
        ),
        weeks AS MATERIALIZED (
            SELECT p.enrolment_id, p.kind, c.day, greatest(p.lo, c.week_from + 1) AS first
              FROM pairs p JOIN at_checkpoints c ON c.enrolment_id = p.enrolment_id AND c.day >= p.lo
             WHERE {_risky('p.kind', 'c.a', 'c.t', 'c.aw', 'c.tw')}
        ),
        -- Every school day of the weeks where the condition may have failed.
        counts AS (
            SELECT w.enrolment_id, w.kind, d.day, {prefix.format('a')} AS a, {prefix.format('t')} AS t
              FROM weeks w JOIN bits b USING (enrolment_id)
              JOIN unnest(%(days)s::date[], %(checkpoint_of)s::date[]) AS d(day, checkpoint)
                ON d.checkpoint = w.day AND d.day >= w.first
        ),
        failed AS (
            SELECT p.enrolment_id, p.kind, p.lo,
                   max(c.day) FILTER (WHERE NOT ({_condition('p.kind', '(c.a + c.t)', 'c.a', 'c.t')})) AS day
              FROM pairs p LEFT JOIN counts c ON c.enrolment_id = p.enrolment_id AND c.kind = p.kind
             GROUP BY p.enrolment_id, p.kind, p.lo
        )
        -- The first day with a mark after the last failure (slots counted from the year's start), and
        -- the year-to-date counts at the end of that day.
        SELECT f.enrolment_id, f.kind, f.day, %(year_start)s::date + x.day_offset,
               bit_count(substring(b.a FROM 1 FOR (x.day_offset + 1) * 2)),
               bit_count(substring(b.t FROM 1 FOR (x.day_offset + 1) * 2))
          FROM failed f JOIN bits b USING (enrolment_id)
         CROSS JOIN LATERAL (
               SELECT coalesce(f.day + 1 - %(year_start)s::date, 0) * 2 AS skipped) AS k
         CROSS JOIN LATERAL (
               SELECT (k.skipped + position(B'1' IN substring(b.marked FROM k.skipped + 1)) - 1) / 2
                      AS day_offset) AS x
    """, params)
    found = []
    for enrolment_id, kind, failed, since, absence, attendance in rows:
        if failed is None and (enrolment_id, kind) in kept:
            found.append(kept[(enrolment_id, kind)])
            continue
        # A rate signal is what it was on the day it started: it changes only when it ends or its start
        # moves, so the stored row is not rewritten every night while the figures move.
        found.append(Signal(enrolment_id, kind, since, absence,
                            {"from": year.start.isoformat(), "to": since.isoformat(),
                             "possible": absence + attendance, "absence": absence, "attendance": attendance}))
    return found


def _ongoing(calendar: SchoolCalendar, on: dt.date, year: Year, params: dict[str, Any],
             previous: Previous | None) -> dict[tuple[int, str], Signal]:
    """Rate signals active at the previous run whose start still holds, unless the enrolment's marks up
    to that run's day have changed since (then its whole year is checked again)."""
    if previous is None or not year.start <= previous.on <= on or (on - previous.on).days > 31:
        return {}
    rows = _fetch(f"""
        SELECT s.enrolment_id, s.kind, s.since, s.sessions, s.evidence::text FROM reporting_attendancesignal s
         WHERE s.school_id = %(school)s AND s.active AND s.kind IN ({", ".join(f"'{k}'" for k in RATE_KINDS)})
           AND s.since <= %(previous_on)s
           AND s.enrolment_id NOT IN (SELECT m.enrolment_id FROM {MARKS} m
                                       WHERE m.school_id = %(school)s AND m.updated_at >= %(watermark)s
                                         AND m.date <= %(previous_on)s)""",
                  {**params, "previous_on": previous.on, "watermark": previous.watermark})
    return {(e, k): Signal(e, k, since, sessions, json.loads(evidence)) for e, k, since, sessions, evidence in rows}


# Sessions of some categories inside a range ----------------------------------------------------------
def _ones(bits: str) -> list[int]:
    found, at = [], bits.find("1")
    while at >= 0:
        found.append(at)
        at = bits.find("1", at + 1)
    return found


def _counted(calendar: SchoolCalendar, start: dt.date, on: dt.date, params: dict[str, Any], *,
             categories: tuple[str, ...], at_least: int, compulsory_only: bool) -> list[tuple[Any, ...]]:
    """(enrolment_id, year start, one bit string per category as text) for the enrolments on roll with at
    least `at_least` sessions of `categories` in [start, on], the bits masked to that range."""
    years = calendar.years_overlapping(start, on)
    if not years:
        return []
    params = {**params, "at_least": at_least, "starts": [y.start for y in years],
              "masks": [y.range_mask(start, on) for y in years]}
    masked = ", ".join(f"s.{c} & r.mask AS {c}" for c in categories)
    return _fetch(f"""
        WITH counted AS MATERIALIZED (
            SELECT s.enrolment_id, s.start, bit_count({_union(categories)} & r.mask) AS n, {masked}
              FROM {TABLE} s JOIN unnest(%(starts)s::date[], %(masks)s::varbit[]) AS r(start, mask)
                ON r.start = s.start
             WHERE s.school_id = %(school)s AND s.start = ANY(%(starts)s::date[])
        ),
        hit AS (
            SELECT enrolment_id FROM counted GROUP BY enrolment_id HAVING sum(n) >= %(at_least)s
             INTERSECT {_roll_sql(compulsory_only=compulsory_only)}
        )
        -- As text for the few enrolments flagged: the sessions are decoded from it below.
        SELECT c.enrolment_id, c.start, {", ".join(f"c.{name}::text" for name in categories)}
          FROM counted c WHERE c.enrolment_id IN (SELECT enrolment_id FROM hit)""", params)


def _counted_sessions(calendar: SchoolCalendar, start: dt.date, on: dt.date, params: dict[str, Any], *,
                      categories: tuple[str, ...], at_least: int,
                      compulsory_only: bool) -> dict[int, list[tuple[dt.date, str, str]]]:
    """As `_counted`, with the sessions (day, session, code) decoded, in order, per enrolment."""
    rows = _counted(calendar, start, on, params, categories=categories, at_least=at_least,
                    compulsory_only=compulsory_only)
    by_start = {y.start: y for y in calendar.years}
    found: dict[int, list[tuple[dt.date, str, str]]] = {}
    for enrolment_id, year_start, *bits in rows:
        year = by_start[year_start]
        sessions = found.setdefault(enrolment_id, [])
        for category, text in zip(categories, bits, strict=True):
            sessions += [(*year.session_at(slot), CODE_OF[category]) for slot in _ones(text)]
    return {e: sorted(sessions) for e, sessions in found.items()}


def _by_enrolment(rows: list[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for enrolment_id, *rest in rows:
        grouped.setdefault(enrolment_id, []).append(tuple(rest))
    return grouped


def _listed(sessions: list[tuple[Any, ...]]) -> list[list[str]]:
    return [[day.isoformat(), session, code] for day, session, code in sessions]


# Counts inside a window of school weeks -----------------------------------------------------------
def _window_signals(calendar: SchoolCalendar, on: dt.date, params: dict[str, Any], *, kind: str, weeks: int,
                    more_than: int, categories: tuple[str, ...], compulsory_only: bool) -> list[Signal]:
    window = calendar.recent_school_weeks(on, weeks)
    if not window:
        return []
    found = _counted_sessions(calendar, window[0], on, params, categories=categories, at_least=more_than + 1,
                              compulsory_only=compulsory_only)
    return [
        Signal(enrolment_id, kind, sessions[more_than][0], len(sessions),
               {"from": window[0].isoformat(), "sessions": _listed(sessions)})
        for enrolment_id, sessions in found.items()
    ]


# N codes not replaced in time --------------------------------------------------------------------
def _n_overdue(calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy, params: dict[str, Any]) -> list[Signal]:
    limit = policy.n_code_limit_school_days
    days = calendar.days_up_to(on)
    if limit < 1 or len(days) < limit:
        return []
    # Overdue when at least `limit` school days have passed since the mark's day. N codes must be
    # replaced within days, so the index of N marks holds hardly any rows.
    params = {**params, "cutoff": days[-limit]}
    # The N marks first (from the partial index), then the roll: probing the marks per enrolment instead
    # is the plan the planner picks otherwise, and it is ten times slower.
    rows = _fetch(f"""
        WITH n AS MATERIALIZED (
            SELECT m.enrolment_id, m.date, m.session, m.code FROM {MARKS} m
             WHERE m.school_id = %(school)s AND m.code = 'N' AND m.date < %(cutoff)s
        )
        SELECT n.* FROM n WHERE n.enrolment_id IN ({_roll_sql()})
         ORDER BY n.enrolment_id, n.date, n.session
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
    end = min(on, year.end)
    found = _counted_sessions(calendar, year.start, end, params, categories=("illness",), at_least=ILLNESS_SESSIONS,
                              compulsory_only=True)
    return [
        Signal(enrolment_id, K.ILLNESS_15_DAYS, sessions[ILLNESS_SESSIONS - 1][0], len(sessions),
               {"from": year.start.isoformat(), "sessions": _listed(sessions)})
        for enrolment_id, sessions in found.items()
    ]


# Continuous absence --------------------------------------------------------------------------------
def _continuous(calendar: SchoolCalendar, on: dt.date, params: dict[str, Any], *, kind: str,
                categories: tuple[str, ...], sessions: int) -> list[Signal]:
    """A run of consecutive school sessions, all coded from `categories`, reaching the enrolment's latest
    marked school session on or before the day (a register not yet taken at the end neither breaks nor
    extends it), which must be among the last 2 x `sessions` school sessions."""
    school_sessions = calendar.sessions_up_to(on)
    if len(school_sessions) < sessions:
        return []
    window_from = school_sessions[-min(len(school_sessions), 2 * sessions)]
    candidates = {row[0] for row in _counted(calendar, window_from[0], on, params, categories=categories,
                                             at_least=sessions, compulsory_only=True)}
    if not candidates:
        return []
    # Every academic year up to the day, end to end: slot i of the whole is slot i - offset of its year.
    years = [y for y in calendar.years if y.start <= on]
    offsets, total = {}, 0
    for year in years:
        offsets[year.start] = total
        total += year.slots
    school = int("".join(calendar.school_mask(y, on) for y in years) or "0", 2)
    window_year = calendar.year_for(window_from[0])
    first_in_window = offsets[window_year.start] + window_year.slot(*window_from)  # type: ignore[union-attr]
    rows = _fetch(f"""
        SELECT s.enrolment_id, s.start, {MARKED_BITS}::text, {_union(categories)}::text FROM {TABLE} s
         WHERE s.school_id = %(school)s AND s.enrolment_id = ANY(%(candidates)s) AND s.start <= %(on)s""",
                  {**params, "candidates": list(candidates)})
    marked: dict[int, int] = {}
    counted: dict[int, int] = {}
    for enrolment_id, year_start, marked_text, counted_text in rows:
        if year_start not in offsets:
            continue
        shift = total - offsets[year_start] - len(marked_text)
        marked[enrolment_id] = marked.get(enrolment_id, 0) | (int(marked_text, 2) << shift)
        counted[enrolment_id] = counted.get(enrolment_id, 0) | (int(counted_text, 2) << shift)
    by_offset = sorted((offsets[y.start], y) for y in years)
    found = []
    for enrolment_id in sorted(marked):
        run = _run(total, school, marked[enrolment_id] & school, counted[enrolment_id] & school)
        if run is None:
            continue
        first, last, count = run
        if last < first_in_window or count < sessions:
            continue
        first_day, last_day = (_session_of(by_offset, i) for i in (first, last))
        found.append(Signal(enrolment_id, kind, first_day[0], count,
                            {"first": [first_day[0].isoformat(), first_day[1]],
                             "last": [last_day[0].isoformat(), last_day[1]]}))
    return found


def _run(length: int, school: int, marked: int, counted: int) -> tuple[int, int, int] | None:
    """(first, last, sessions) of the run of counted school sessions ending at the latest marked one.
    Bit strings as integers: index i of the string is bit length - 1 - i."""
    if not marked:
        return None
    last = length - (marked & -marked).bit_length()
    below = length - 1 - last  # bits below `last` in the integer are the indices after it
    gaps = (school & ~counted) >> below
    if gaps & 1:
        return None  # the latest marked session is not counted
    gap = last - ((gaps & -gaps).bit_length() - 1) if gaps else -1
    after_gap = school & ((1 << (length - 1 - gap)) - 1)
    first = length - after_gap.bit_length()
    count = ((school >> below) & ((1 << (last - gap)) - 1)).bit_count()
    return first, last, count


def _session_of(by_offset: list[tuple[int, Year]], index: int) -> tuple[dt.date, str]:
    offset, year = next((o, y) for o, y in reversed(by_offset) if o <= index)
    return year.session_at(index - offset)
