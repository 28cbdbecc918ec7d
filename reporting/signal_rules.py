# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""The signals: who needs attention as of a day, each with the day it started and its evidence.

Every rule counts set bits of the summary rows (`reporting.summaries`) under masks built from the
calendar. The rules run for a group of schools that share a calendar and a policy (a trust's schools
usually do), so each statement serves them all. All the counts come from one pass over the schools'
rows (`_tallies`), joined to the stored active signals: a stored signal whose rule still selects it
and whose ground has not changed since the last run (`_keep`) goes on as it is and never reaches
Python, so a night's work follows what changed, not the size of the trust. One more statement fetches
the bits of the enrolments left, from which the sessions behind each signal are found. No rule reads
the marks except the overdue `N` rule, which reads a partial index holding only `N` marks, and the
check for marks written since the last run. Definitions (dfe-rules §2.1, R7, R11–R13, R16, §4.1):

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
  schools only.
* These two are rolling windows: a signal starts on the day its rule began to hold (the first counted
  session after the last school day at whose end it did not), so it goes on while the window moves
  on week by week, and a later run keeps it the way it keeps a rate signal's start. Illness (below)
  counts from the start of the year and starts on the day of the session that reached the count.
  All three are what started them: their count (`sessions`) and evidence are the sessions of the
  window as it was on the first day, up to the end of that day. Later sessions do not change them.
* N not replaced within 5 school days; 10 school days' continuous G/N/O/U; 15 school days of illness in
  the school year; 20 school days' continuous G/N/O. The statutory returns concern pupils of
  compulsory school age, so those rules apply to them only.

Evidence never holds the run's day, so a signal that goes on unchanged is the same row from one night
to the next and `signals_sync` writes nothing for it: the queues see changes, not the whole school.
Each signal carries a fingerprint of what its evidence is made from (the bits under its window, or
the evidence itself when that is small); the evidence is only built when the fingerprint differs
from the stored one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection

from attendance_portal.models import School
from penalties.selectors import framework_on
from registers import codes
from registers.ages import compulsory_school_age_births
from registers.calendar import SchoolCalendar, Year, monday, session_name
from registers.models import Enrolment, SchoolPolicy

from .figures import FIGURE_CATEGORIES, persistent_sql, severe_sql
from .models import CATEGORY_FIELDS, SignalKind
from .summaries import CODE_OF, MARKS, TABLE

ILLNESS_SESSIONS = 30  # 15 school days
CONTINUOUS_UNAUTHORISED_SESSIONS = 20  # 10 school days
CONTINUOUS_GNO_SESSIONS = 40  # 20 school days
K = SignalKind
RATE_KINDS = (K.PERSISTENT_ABSENCE, K.SEVERE_ABSENCE, K.AT_RISK, K.BELOW_THRESHOLD)
# Window signals that go on unchanged from one run to the next while what started them stands (`_keep`).
# Those of a rolling window (the rest of the school week's window) start when their rule began to hold.
ROLLING = (K.PUNCTUALITY, K.PENALTY_THRESHOLD)
KEPT_WINDOWS = (*ROLLING, K.ILLNESS_15_DAYS)


@dataclass(frozen=True)
class Signal:
    school_id: int
    enrolment_id: int
    kind: str
    since: dt.date
    sessions: int
    # Changes exactly when the evidence does; the evidence itself is built only on demand.
    fingerprint: str
    make_evidence: Callable[[], dict[str, Any]] = field(repr=False, compare=False)

    @property
    def evidence(self) -> dict[str, Any]:
        return self.make_evidence()


FINGERPRINT_VERSION = "2"


def _fingerprint(text: str) -> str:
    return hashlib.blake2b(f"{FINGERPRINT_VERSION}|{text}".encode(), digest_size=12).hexdigest()


def _signal(school_id: int, enrolment_id: int, kind: str, since: dt.date, sessions: int,
            evidence: dict[str, Any]) -> Signal:
    """A signal whose evidence is small enough to build at once; its fingerprint is the evidence's."""
    return Signal(school_id, enrolment_id, kind, since, sessions, _fingerprint(json.dumps(evidence, sort_keys=True)),
                  lambda: evidence)


@dataclass(frozen=True)
class Previous:
    """The last completed run of the school: its day and watermark (marks updated at or after the
    watermark may not have been seen by it)."""

    on: dt.date
    watermark: dt.datetime


def _union(categories: tuple[str, ...], alias: str = "s") -> str:
    return "(" + " | ".join(f"{alias}.{c}" for c in categories) + ")"


ABSENCE_BITS = _union((*FIGURE_CATEGORIES["authorised"], *FIGURE_CATEGORIES["unauthorised"]))  # type: ignore[misc]  # named categories are tuples, never None
ATTENDANCE_BITS = _union((*FIGURE_CATEGORIES["present"], *FIGURE_CATEGORIES["approved_educational_activity"]))  # type: ignore[misc]  # named categories are tuples, never None
MARKED_BITS = _union(CATEGORY_FIELDS)


def _basis_points(percent: Decimal | float | int) -> int:
    return round(Decimal(str(percent)) * 100)


def _roll_sql() -> str:
    """The enrolments on roll on the day, and whether the pupil is of compulsory school age."""
    return f"""SELECT e.id AS enrolment_id, p.date_of_birth BETWEEN %(csa_from)s AND %(csa_to)s AS compulsory
                FROM registers_enrolment e JOIN registers_pupil p ON p.id = e.pupil_id
               WHERE e.school_id = ANY(%(schools)s) AND p.school_id = e.school_id
                 AND {Enrolment.covering_sql("e", "%(on)s")}"""


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def policy_key(policy: SchoolPolicy) -> str:
    """Everything of a policy the rules read. Schools whose policies agree on it are computed together,
    and a run reuses the stored signals of the last one only under the same key. v2: window signals
    are what started them."""
    return ":".join(str(part) for part in (
        "v2", _basis_points(policy.at_risk_absence_percent), _basis_points(policy.letter_threshold_percent),
        policy.punctuality_weeks, policy.punctuality_lates, policy.n_code_limit_school_days,
        int(policy.penalty_threshold_counts_n)))


@dataclass(frozen=True)
class Window:
    """A rule that counts sessions of some categories over a range of days: who reaches `at_least`."""

    kind: str
    categories: tuple[str, ...]
    start: dt.date
    end: dt.date
    at_least: int
    compulsory_only: bool
    weeks: int | None = None  # a rolling window of this many school weeks, ending with the day's week


# The stored active signals a run may change: (enrolment, kind, since) -> (id, sessions, fingerprint).
Stored = dict[tuple[int, str, dt.date], tuple[int, int, str]]


class Found(NamedTuple):
    """What a run works out: the signals found afresh, and the stored active rows they are compared with
    (`signals_sync`). Stored rows in neither go on as they are."""

    signals: list[Signal]
    stored: Stored


def signals_compute(*, schools: list[School], calendar: SchoolCalendar, on: dt.date,
                    policy: SchoolPolicy) -> list[Signal]:
    """Every signal as of `on`, worked out from the summaries alone (for schools that share the calendar
    and the policy, and whether they are state-funded)."""
    return signals_found(schools=schools, calendar=calendar, on=on, policy=policy).signals


def signals_found(*, schools: list[School], calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy,
                  previous: dict[int, Previous] | None = None) -> Found:
    """The signals as of `on` that a run has to work out. `previous`: by school, its last run, whose
    stored signals were found under the same policy and calendar; the signals that go on from it as
    they were (`_keep`) are neither worked out nor read."""
    if not schools:
        return Found([], {})
    if len({s.state_funded for s in schools}) > 1:
        raise ValueError("signals_compute: the schools must all be state-funded or all not")
    csa_from, csa_to = compulsory_school_age_births(on=on)
    params: dict[str, Any] = {"schools": [s.pk for s in schools], "on": on, "csa_from": csa_from, "csa_to": csa_to,
                              "at_risk_bp": _basis_points(policy.at_risk_absence_percent),
                              "threshold_bp": _basis_points(policy.letter_threshold_percent)}
    state_funded = schools[0].state_funded
    windows = _windows(calendar, on, policy, state_funded=state_funded)
    year = calendar.year_for(on)
    ytd = (year.start, min(on, year.end)) if year is not None and on >= year.start else None
    keep = _keep(calendar, on, policy, previous, windows, state_funded=state_funded) if previous else []
    tallies = _tallies(calendar, params, windows, ytd=ytd, keep=keep)
    found: list[Signal] = []
    if ytd is not None:
        found += _rate_signals(calendar, on, year, params, tallies.flagged, tallies.kept,  # type: ignore[arg-type]  # ytd is set only when year is
                               tallies.school_of)
    reached = tallies.reached
    bits = _bits(params, on, {w: reached[w.kind] for w in windows})
    for window in windows:
        if window.kind in CONTINUOUS:
            found += _continuous(calendar, on, window, reached[window.kind], bits)
        else:
            found += _window_signals(calendar, window, reached[window.kind], bits)
    found += _n_overdue(calendar, on, policy, params)
    return Found(sorted(found, key=lambda s: (s.school_id, s.enrolment_id, s.kind, s.since)), tallies.stored)


CONTINUOUS = {K.CONTINUOUS_UNAUTHORISED_10_DAYS: CONTINUOUS_UNAUTHORISED_SESSIONS,
              K.CONTINUOUS_ABSENCE_20_DAYS: CONTINUOUS_GNO_SESSIONS}


def _windows(calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy, *, state_funded: bool) -> list[Window]:
    """The counting rules as of `on`, each with its range of days (rules with no range are left out)."""
    found = []
    punctuality = calendar.recent_school_weeks(on, policy.punctuality_weeks)
    if punctuality:
        found.append(Window(K.PUNCTUALITY, ("late_before_close", "late_after_close"), punctuality[0], on,
                            policy.punctuality_lates + 1, compulsory_only=False, weeks=policy.punctuality_weeks))
    year = calendar.year_for(on)
    if year is not None and on >= year.start:
        found.append(Window(K.ILLNESS_15_DAYS, ("illness",), year.start, min(on, year.end), ILLNESS_SESSIONS,
                            compulsory_only=True))
    # Continuous runs: candidates have enough counted sessions among the last 2 x `sessions` school
    # sessions (the run must reach into them); the run itself is then found from all their bits.
    for kind, categories in ((K.CONTINUOUS_UNAUTHORISED_10_DAYS, FIGURE_CATEGORIES["unauthorised"]),
                             (K.CONTINUOUS_ABSENCE_20_DAYS, FIGURE_CATEGORIES["unauthorised_gno"])):
        window_from = _continuous_window_from(calendar, on, CONTINUOUS[kind])
        if window_from is not None:
            found.append(Window(kind, categories, window_from[0], on, CONTINUOUS[kind],  # type: ignore[arg-type]  # named categories are tuples, never None
                                compulsory_only=True))
    # The national threshold in force on the day (penalties.NationalFramework): none before August 2024.
    framework = framework_on(on) if state_funded else None
    if framework is not None and framework.threshold_sessions and framework.window_school_weeks:
        penalty = calendar.recent_school_weeks(on, framework.window_school_weeks)
        counted = tuple(c for c in FIGURE_CATEGORIES["unauthorised"]  # type: ignore[union-attr]  # named categories are tuples, never None
                        if policy.penalty_threshold_counts_n or c != "reason_not_established")
        if penalty:
            found.append(Window(K.PENALTY_THRESHOLD, counted, penalty[0], on, framework.threshold_sessions,
                                compulsory_only=True, weeks=framework.window_school_weeks))
    return found


def _continuous_window_from(calendar: SchoolCalendar, on: dt.date, sessions: int) -> tuple[dt.date, str] | None:
    """The first of the last 2 x `sessions` school sessions up to `on` (None before there are `sessions`)."""
    school_sessions = calendar.sessions_up_to(on)
    if len(school_sessions) < sessions:
        return None
    return school_sessions[-min(len(school_sessions), 2 * sessions)]


class Tallies(NamedTuple):
    """What one pass over the summaries (and the stored signals) leaves to work out."""

    flagged: list[tuple[int, str]]  # (enrolment, rate kind) whose condition holds and whose start is to be found
    reached: dict[str, list[tuple[int, int]]]  # by window kind: (school, enrolment) whose sessions are to be found
    school_of: dict[int, int]  # each flagged enrolment's school
    # Rate signals that go on if no school day from the date given (the day after the last run) broke them.
    kept: dict[tuple[int, str], tuple[Signal, dt.date]]
    stored: Stored  # the stored active signals that may change (those that go on as they were are left out)


class Keep(NamedTuple):
    """A kind of signal of a school whose stored rows may go on from its previous run (`_keep`)."""

    school_id: int
    kind: str
    previous: Previous
    walk_from: dt.date | None  # rate kinds: the school days from here to the day before the run are checked


def _masks(years: list[Year], start: dt.date, end: dt.date) -> list[str | None]:
    """One mask per year for the days [start, end]; None for a year they miss."""
    return [year.range_mask(start, end) for year in years]


_STORED_SQL = """SELECT s.id, s.enrolment_id, s.kind, s.since, s.sessions, s.fingerprint
                   FROM reporting_attendancesignal s WHERE s.school_id = ANY(%(schools)s) AND s.active"""


def _tallies(calendar: SchoolCalendar, params: dict[str, Any], windows: list[Window], *,
             ytd: tuple[dt.date, dt.date] | None, keep: list[Keep]) -> Tallies:
    """One pass over the schools' summary rows: the enrolments on roll that some rule selects, joined to
    the stored active signals. A stored signal that `keep` allows to go on and that its rule still
    selects stays as it is and never reaches Python; everything else comes back: the (enrolment, kind)
    pairs whose signal is to be worked out, and the stored rows it is to be compared with."""
    ranges = [(w.start, w.end) for w in windows] + ([ytd] if ytd else [])
    years = list(calendar.years_overlapping(min(r[0] for r in ranges), max(r[1] for r in ranges))) if ranges else []
    if not years:
        stored = _fetch(_STORED_SQL, params)
        return Tallies([], {w.kind: [] for w in windows}, {}, {},
                       {(e, k, since): (pk, sessions, fp) for pk, e, k, since, sessions, fp in stored})
    masks = {f"mask_{n}": _masks(years, w.start, w.end) for n, w in enumerate(windows)}
    masks["ytd"] = _masks(years, *ytd) if ytd else [None] * len(years)
    counted = {"a": f"{ABSENCE_BITS} & m.ytd", "t": f"{ATTENDANCE_BITS} & m.ytd",
               **{f"n_{n}": f"{_union(w.categories)} & m.mask_{n}" for n, w in enumerate(windows)}}
    # Integer counts throughout (a sum of bigints is numeric, and numeric comparisons cost more than the
    # counting). With one year, which is most of the year, each enrolment has one row: no aggregate.
    one_row = len(years) == 1
    count = "bit_count({})::int" if one_row else "sum(bit_count({})::int)::int"
    columns = ", ".join(f"coalesce({count.format(sql)}, 0) AS {name}" for name, sql in counted.items())
    grouping = "" if one_row else "GROUP BY s.school_id, s.enrolment_id"
    reached = " | ".join([f"(CASE WHEN c.n_{n} >= {w.at_least}{' AND r.compulsory' if w.compulsory_only else ''}"
                          f" THEN {1 << n} ELSE 0 END)" for n, w in enumerate(windows)] or ["0"])
    names = ", ".join(masks)
    arrays = ", ".join(f"%({name})s::varbit[]" for name in masks)
    # Each kind a rule can select is a bit: the rate kinds first, then the windows in order.
    kinds = [*RATE_KINDS, *(w.kind for w in windows)]
    rate_mask = " | ".join(f"(CASE WHEN {sql} THEN {1 << n} ELSE 0 END)"
                           for n, sql in enumerate(_conditions('(c.a + c.t)', 'c.a', 'c.t').values()))
    assert tuple(_conditions("p", "a", "t")) == RATE_KINDS  # noqa: S101 - the bits follow this order
    to_previous = ", ".join(f"'{k}'" for k in (*RATE_KINDS, *ROLLING))
    # The counts of every row first, then the roll by hash: probing the summaries once per enrolment on
    # roll is what the planner picks otherwise, and it is twice as slow.
    rows = _fetch(f"""
        WITH roll AS MATERIALIZED ({_roll_sql()}),
        counts AS MATERIALIZED (
            SELECT s.school_id, s.enrolment_id, {columns}
              FROM {TABLE} s
              JOIN unnest(%(starts)s::date[], {arrays}) AS m(start, {names}) ON m.start = s.start
             WHERE s.school_id = ANY(%(schools)s) AND s.start = ANY(%(starts)s::date[])
             {grouping}
        ),
        -- The kinds some rule selects for each enrolment on roll, as bits.
        judged AS MATERIALIZED (
            SELECT * FROM (
                SELECT c.school_id, c.enrolment_id, ({rate_mask}) | (({reached}) << {len(RATE_KINDS)}) AS wanted
                  FROM counts c JOIN roll r ON r.enrolment_id = c.enrolment_id) AS j
             WHERE j.wanted <> 0
        ),
        keep AS (
            SELECT * FROM unnest(%(keep_schools)s::bigint[], %(keep_kinds)s::varchar[], %(keep_ons)s::date[],
                                 %(keep_watermarks)s::timestamptz[], %(keep_walk_from)s::date[])
                   AS k(school_id, kind, on_day, watermark, walk_from)
        ),
        -- The earliest day of the marks of each enrolment written since its school's previous run. The
        -- earliest watermark as a constant: the planner then reads the (school, updated) index.
        changed AS MATERIALIZED (
            SELECT m.enrolment_id, min(m.date) AS first_day
              FROM {MARKS} m JOIN (SELECT DISTINCT school_id, watermark, on_day FROM keep) p
                   ON p.school_id = m.school_id
             WHERE m.school_id = ANY(%(schools)s) AND m.updated_at >= %(earliest)s AND m.updated_at >= p.watermark
               AND m.date <= p.on_day  -- the day's own marks are later than every bound below
             GROUP BY m.enrolment_id
        ),
        -- Each stored active signal: whether its rule still selects it, and whether its ground is
        -- unchanged (`_keep`): a rate or rolling-window signal's marks up to the previous run's day, an
        -- illness signal's up to its start.
        stored AS MATERIALIZED (
            SELECT s.id, s.school_id, s.enrolment_id, s.kind, s.since, s.sessions, s.fingerprint, b.bit,
                   coalesce(j.wanted & b.bit <> 0, false) AS wanted, k.walk_from,
                   coalesce(s.since <= k.on_day AND (c.first_day IS NULL OR c.first_day >
                            CASE WHEN s.kind IN ({to_previous}) THEN k.on_day ELSE s.since END), false) AS kept
              FROM reporting_attendancesignal s
              LEFT JOIN unnest(%(kinds)s::varchar[], %(bits)s::int[]) AS b(kind, bit) ON b.kind = s.kind
              LEFT JOIN judged j ON j.enrolment_id = s.enrolment_id
              LEFT JOIN keep k ON k.school_id = s.school_id AND k.kind = s.kind
              LEFT JOIN changed c ON c.enrolment_id = s.enrolment_id
             WHERE s.school_id = ANY(%(schools)s) AND s.active
        ),
        going_on AS (
            SELECT s.enrolment_id, bit_or(s.bit) AS bits FROM stored s
             WHERE s.wanted AND s.kept AND s.walk_from IS NULL GROUP BY s.enrolment_id
        )
        -- The kinds to work out for each enrolment, and the stored rows that may change (with whether
        -- a rate signal's start may go on once the days since the previous run are checked).
        SELECT j.school_id, j.enrolment_id, j.wanted & ~coalesce(g.bits, 0), NULL, NULL, NULL, NULL, NULL, NULL
          FROM judged j LEFT JOIN going_on g ON g.enrolment_id = j.enrolment_id
         WHERE j.wanted & ~coalesce(g.bits, 0) <> 0
        UNION ALL
        SELECT s.school_id, s.enrolment_id, NULL, s.kind, s.id, s.since, s.sessions, s.fingerprint,
               CASE WHEN s.wanted AND s.kept THEN s.walk_from END
          FROM stored s WHERE NOT (s.wanted AND s.kept AND s.walk_from IS NULL)""",
                  {**params, **masks, "starts": [y.start for y in years],
                   "kinds": kinds, "bits": [1 << n for n in range(len(kinds))],
                   "keep_schools": [k.school_id for k in keep], "keep_kinds": [k.kind for k in keep],
                   "keep_ons": [k.previous.on for k in keep], "keep_watermarks": [k.previous.watermark for k in keep],
                   "keep_walk_from": [k.walk_from for k in keep],
                   "earliest": min((k.previous.watermark for k in keep), default=None)})
    found = Tallies([], {w.kind: [] for w in windows}, {}, {}, {})
    for school_id, e, wanted, kind, pk, since, sessions, fingerprint, walk_from in rows:
        if wanted is None:
            found.stored[(e, kind, since)] = (pk, sessions, fingerprint)
            if walk_from is not None:
                found.kept[(e, kind)] = (Signal(school_id, e, kind, since, sessions, fingerprint,
                                                lambda school_id=school_id, e=e, kind=kind, since=since:  # type: ignore[misc]  # default arguments bind this iteration's values
                                                _stored_evidence(school_id, e, kind, since)), walk_from)
            continue
        for n, name in enumerate(kinds):
            if wanted >> n & 1:
                if n < len(RATE_KINDS):
                    found.flagged.append((e, name))
                    found.school_of[e] = school_id
                else:
                    found.reached[name].append((school_id, e))
    return found


def _bits(params: dict[str, Any], on: dt.date,
          needed: dict[Window, list[tuple[int, int]]]) -> dict[int, dict[dt.date, dict[str, str]]]:
    """The year rows (up to `on`) of the enrolments that need their sessions found: for each, the bit
    strings (as text) of the categories its rules count, and of all marked sessions for the runs."""
    wanted: dict[str, set[int]] = {}
    for window, members in needed.items():
        for name in (*window.categories, *(("marked",) if window.kind in CONTINUOUS else ())):
            wanted.setdefault(name, set()).update(e for _, e in members)
    if not any(wanted.values()):
        return {}
    names = sorted(wanted)
    enrolments = sorted(set().union(*wanted.values()))
    # Which columns each enrolment needs, as one flag array per column joined by enrolment (`= ANY` over a
    # batch's thousands of enrolments, once per row and column, costs more than the whole fetch).
    flags = {f"want_{name}": [e in wanted[name] for e in enrolments] for name in names}
    columns = ", ".join(f"CASE WHEN w.{name} THEN {MARKED_BITS if name == 'marked' else 's.' + name}::text END"
                        for name in names)
    rows = _fetch(f"""
        SELECT s.enrolment_id, s.start, {columns}
          FROM unnest(%(enrolments)s::bigint[], {", ".join(f"%({f})s::boolean[]" for f in flags)})
               AS w(enrolment_id, {", ".join(names)})
          JOIN {TABLE} s ON s.enrolment_id = w.enrolment_id
         WHERE s.school_id = ANY(%(schools)s) AND s.start <= %(on)s""",
                  {**params, "enrolments": enrolments, **flags})
    found: dict[int, dict[dt.date, dict[str, str]]] = {}
    for enrolment_id, start, *texts in rows:
        found.setdefault(enrolment_id, {})[start] = {n: text for n, text in zip(names, texts, strict=True) if text}
    return found


# Year-to-date rates -----------------------------------------------------------------------------------
def _conditions(possible: str, absence: str, attendance: str) -> dict[str, str]:
    """Each rate condition in SQL, of year-to-date counts (integers; possible = absence + attendance)."""
    return {
        K.PERSISTENT_ABSENCE: persistent_sql(absence, possible),
        K.SEVERE_ABSENCE: severe_sql(absence, possible),
        K.AT_RISK: f"{possible} > 0 AND NOT {persistent_sql(absence, possible)}"
                   f" AND 10000 * {absence} >= %(at_risk_bp)s * {possible}",
        K.BELOW_THRESHOLD: f"{possible} > 0 AND 10000 * {attendance} < %(threshold_bp)s * {possible}",
    }


def _condition(kind: str, possible: str, absence: str, attendance: str) -> str:
    """The condition of the kind named by the SQL expression `kind`."""
    whens = "".join(f"\n        WHEN '{k}' THEN {sql}" for k, sql in _conditions(possible, absence, attendance).items())
    return f"CASE {kind}{whens}\n        END"


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


def _rate_signals(calendar: SchoolCalendar, on: dt.date, year: Year, params: dict[str, Any],
                  flagged: list[tuple[int, str]], kept: dict[tuple[int, str], tuple[Signal, dt.date]],
                  school_of: dict[int, int]) -> list[Signal]:
    """The start of each flagged (enrolment, kind): after the last school day, before `on`, at whose end
    the condition failed. `kept`: stored signals that go on unless a school day from the date given
    broke them (the others went on without coming here); `school_of`: each flagged enrolment's school."""
    if not flagged:
        return []
    params = {**params, "year_start": year.start}
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
    # A kept signal held at the end of the previous run's day, with the same marks: only the school days
    # after that one and before `on` are checked.
    found: list[Signal] = []
    walked = sorted((*pair, kept[pair][1] if pair in kept else year.start) for pair in flagged)
    params |= {"days": school_days, "checkpoint_of": checkpoint_of, "checkpoints": checkpoints,
               "previous_checkpoints": previous_checkpoints}
    rows = []
    # In parts of a school's size or so: each part's rows fit in memory (a whole trust's do not).
    for n in range(0, len(walked), WALK_PAIRS):
        part = walked[n:n + WALK_PAIRS]
        rows += _walk({**params, "enrolments": [row[0] for row in part], "kinds": [row[1] for row in part],
                       "lows": [row[2] for row in part]})
    for enrolment_id, kind, failed, since, absence, attendance in rows:
        if failed is None and (enrolment_id, kind) in kept:
            found.append(kept[(enrolment_id, kind)][0])
            continue
        # A rate signal is what it was on the day it started: it changes only when it ends or its start
        # moves, so the stored row is not rewritten every night while the figures move.
        found.append(_signal(school_of[enrolment_id], enrolment_id, kind, since, absence,
                             {"from": year.start.isoformat(), "to": since.isoformat(),
                              "possible": absence + attendance, "absence": absence, "attendance": attendance}))
    return found


WALK_PAIRS = 1000


def _walk(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """For each (enrolment, kind, lo): the last checked day at whose end the condition failed, the first
    day with a mark after it, and the year-to-date absence and attendance at the end of that day."""
    prefix = "bit_count(substring(b.{} FROM 1 FOR (d.day - %(year_start)s::date + 1) * 2))"
    week = ("bit_count(substring(b.{} FROM (d.week_from + 1 - %(year_start)s::date) * 2 + 1"
            " FOR (d.day - d.week_from) * 2))")
    return _fetch(f"""
        WITH pairs AS (
            SELECT * FROM unnest(%(enrolments)s::bigint[], %(kinds)s::varchar[], %(lows)s::date[])
                   AS p(enrolment_id, kind, lo)
        ),
        bits AS MATERIALIZED (
            SELECT s.enrolment_id, {ABSENCE_BITS} AS a, {ATTENDANCE_BITS} AS t, {MARKED_BITS} AS marked
              FROM {TABLE} s
             WHERE s.school_id = ANY(%(schools)s) AND s.start = %(year_start)s
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


def _keep(calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy, previous: dict[int, Previous],
          windows: list[Window], *, state_funded: bool) -> list[Keep]:
    """The kinds of signal of each school whose stored rows may go on from its previous run unless the
    marks they rest on have changed since (`_tallies` checks the marks).

    * A rate signal's start rests on every day of the year up to the previous run's day: in the same
      year, within a month, it goes on when none of the enrolment's marks up to that day has changed
      and its condition holds on the school days since (checked from `walk_from`, if there are any
      before the run's day).
    * A window signal (punctuality, illness, penalty threshold) is what started it: the window's
      sessions up to its start. It goes on while it still reaches the count and, for illness, when
      the window starts on the same day as at the previous run and none of the enrolment's marks up
      to its start has changed; for a rolling window, when its rule held on every school day since
      its start, as for a rate signal: none of its marks up to the previous run's day has changed and
      no school day lies between that day and this one."""
    year = calendar.year_for(on)
    keep: list[Keep] = []
    starts_then: dict[dt.date, dict[str, dt.date]] = {}
    starts_now = {w.kind: w.start for w in windows if w.kind in KEPT_WINDOWS and w.kind not in ROLLING}
    rolling = [w.kind for w in windows if w.kind in ROLLING]
    for school_id, p in previous.items():
        if p.on > on:
            continue
        # The school days after the previous run's day and before this one, if any, are still to check.
        following = bisect_right(calendar.days, p.on)
        missed = following < len(calendar.days) and calendar.days[following] < on
        if year is not None and year.start <= p.on and (on - p.on).days <= 31:
            walk_from = p.on + dt.timedelta(days=1) if missed else None
            keep += [Keep(school_id, kind, p, walk_from) for kind in RATE_KINDS]
        # A rolling window's rule held on every school day to the previous run's; with none between that
        # day and this one, it has held since.
        if not missed:
            keep += [Keep(school_id, kind, p, None) for kind in rolling]
        if p.on not in starts_then:
            starts_then[p.on] = {w.kind: w.start for w in _windows(calendar, p.on, policy, state_funded=state_funded)}
        keep += [Keep(school_id, kind, p, None) for kind, start in starts_now.items()
                 if starts_then[p.on].get(kind) == start]
    return keep


def _stored_evidence(school_id: int, enrolment_id: int, kind: str, since: dt.date) -> dict[str, Any]:
    rows = _fetch("""SELECT evidence::text FROM reporting_attendancesignal
                      WHERE school_id = %(school)s AND enrolment_id = %(enrolment)s AND kind = %(kind)s
                        AND since = %(since)s""",
                  {"school": school_id, "enrolment": enrolment_id, "kind": kind, "since": since})
    return json.loads(rows[0][0])


# Sessions counted in a window ----------------------------------------------------------------------
def _window_signals(calendar: SchoolCalendar, window: Window, enrolments: list[tuple[int, int]],
                    bits: dict[int, dict[dt.date, dict[str, str]]]) -> list[Signal]:
    """Punctuality, illness, penalty threshold: the enrolments with at least `at_least` of the window's
    sessions. The signal is what started it: its count and evidence are the sessions of the window as
    it was on its first day, up to the end of that day, so sessions added later do not change it.

    Illness counts from the start of the year, so its signal starts on the day of the session that
    reached the count. A rolling window's signal starts on the day its rule began to hold: the day of
    the first counted session after the last school day at whose end the rule did not hold (the window
    moves on each week, so the session that reached the count may have left it since). The list of
    sessions (the evidence) is decoded only when the signal is stored."""
    spans = _spans(calendar, window.start, window.end)
    found = []
    for school_id, enrolment_id in enrolments:
        rows = bits.get(enrolment_id, {})
        if window.weeks:
            since = _held_since(calendar, window, rows)
            start = calendar.recent_school_weeks(since, window.weeks)[0] if since else None
        else:
            since, start = _reached_on(spans, window, rows), window.start
        if since is None or start is None:
            continue  # cannot happen: the tally counted the same bits
        started = _spans(calendar, start, since)
        parts, count = [start.isoformat()], 0
        for year, first, last in started:
            texts = rows.get(year.start)
            if not texts:
                continue
            sliced = [texts[c][first:last + 1] for c in window.categories]
            parts.append(year.start.isoformat())
            parts += [text.rstrip("0") for text in sliced]
            count += _or(sliced).count("1")
        found.append(Signal(school_id, enrolment_id, window.kind, since, count, _fingerprint("|".join(parts)),
                            lambda rows=rows, started=started, start=start: {  # type: ignore[misc]  # default arguments bind this iteration's values
                                "from": start.isoformat(),
                                "sessions": _listed(_hits(started, window.categories, rows))}))
    return found


def _held_since(calendar: SchoolCalendar, window: Window, rows: dict[dt.date, dict[str, str]]) -> dt.date | None:
    """The day a rolling window's rule, which holds on `window.end`, began to hold: walking back over
    the school days before, the first counted session after the last one at whose end it did not."""
    on = window.end
    counted: list[dt.date] = []  # the day of each counted session up to `on`, in order
    for year_start in sorted(rows):
        texts = rows[year_start]
        year = next((y for y in calendar.years if y.start == year_start), None)
        if year is None or year.start > on:
            continue
        union = _or([texts[c] for c in window.categories])
        at = union.find("1")
        while at != -1:
            day = year.start + dt.timedelta(days=at // 2)
            if day > on:
                break
            counted.append(day)
            at = union.find("1", at + 1)
    if len(counted) < window.at_least:
        return None
    failed = None
    for day in reversed(calendar.days[:bisect_left(calendar.days, on)]):
        first = calendar.recent_school_weeks(day, window.weeks)[0]  # type: ignore[arg-type]  # called only for weekly windows, whose weeks is set
        if bisect_right(counted, day) - bisect_left(counted, first) < window.at_least:
            failed = day
            break
    return counted[bisect_right(counted, failed)] if failed else counted[window.at_least - 1]


def _spans(calendar: SchoolCalendar, start: dt.date, end: dt.date) -> list[tuple[Year, int, int]]:
    """The days [start, end] as (year, first slot, last slot), one for each academic year they touch."""
    return [(year, *year.span(start, end)) for year in calendar.years_overlapping(start, end)]  # type: ignore[misc]  # years_overlapping gives only years the span touches


def _reached_on(spans: list[tuple[Year, int, int]], window: Window,
                rows: dict[dt.date, dict[str, str]]) -> dt.date | None:
    """The day of the window's `at_least`-th session, if it has that many."""
    count = 0
    for year, first, last in spans:
        texts = rows.get(year.start)
        if not texts:
            continue
        union = _or([texts[c][first:last + 1] for c in window.categories])
        in_year = union.count("1")
        if count + in_year >= window.at_least:
            at = -1
            for _ in range(window.at_least - count):
                at = union.find("1", at + 1)
            return year.session_at(first + at)[0]
        count += in_year
    return None


def _or(texts: list[str]) -> str:
    """Bit strings (as text, of one length) or'ed together."""
    if len(texts) == 1:
        return texts[0]
    value = 0
    for text in texts:
        value |= int(text, 2)
    return format(value, f"0{len(texts[0])}b")


def _hits(spans: list[tuple[Year, int, int]], categories: tuple[str, ...],
          rows: dict[dt.date, dict[str, str]]) -> list[tuple[Year, int, str]]:
    """Every session of the categories inside the spans, in order, as (year, slot, category)."""
    hits = []
    for year, first, last in spans:
        texts = rows.get(year.start)
        if not texts:
            continue
        in_year = []
        for category in categories:
            text = texts[category]
            at = text.find("1", first)
            while 0 <= at <= last:
                in_year.append((at, category))
                at = text.find("1", at + 1)
        hits += [(year, slot, category) for slot, category in sorted(in_year)]
    return hits


def _listed(hits: list[tuple[Year, int, str]]) -> list[list[str]]:
    listed = []
    for year, slot, category in hits:
        listed.append([year.iso_days[slot], session_name(slot), CODE_OF[category]])
    return listed


def _by_enrolment(rows: list[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for enrolment_id, *rest in rows:
        grouped.setdefault(enrolment_id, []).append(tuple(rest))
    return grouped


# N codes not replaced in time --------------------------------------------------------------------
def _n_overdue(calendar: SchoolCalendar, on: dt.date, policy: SchoolPolicy, params: dict[str, Any]) -> list[Signal]:
    limit = policy.n_code_limit_school_days
    cutoff = codes.n_overdue_before(calendar.days_up_to(on), limit)
    if cutoff is None:
        return []
    # N codes must be replaced within days, so the index of N marks holds hardly any rows.
    params = {**params, "cutoff": cutoff}
    # The N marks first (from the partial index), then the roll: probing the marks per enrolment instead
    # is the plan the planner picks otherwise, and it is ten times slower.
    rows = _fetch(f"""
        WITH n AS MATERIALIZED (
            SELECT m.enrolment_id, m.school_id, m.date, m.session, m.code FROM {MARKS} m
             WHERE m.school_id = ANY(%(schools)s) AND m.code = 'N' AND m.date < %(cutoff)s
        )
        SELECT n.* FROM n WHERE n.enrolment_id IN (SELECT enrolment_id FROM ({_roll_sql()}) AS roll)
         ORDER BY n.enrolment_id, n.date, n.session
    """, params)
    found = []
    for enrolment_id, sessions in _by_enrolment(rows).items():
        since = codes.n_overdue_from(calendar.days, sessions[0][1], limit) or on
        found.append(_signal(sessions[0][0], enrolment_id, K.N_CODE_OVERDUE, since, len(sessions),
                             {"sessions": [[day.isoformat(), session, code] for _, day, session, code in sessions]}))
    return found


# Continuous absence --------------------------------------------------------------------------------
def _continuous(calendar: SchoolCalendar, on: dt.date, window: Window, candidates: list[tuple[int, int]],
                bits: dict[int, dict[dt.date, dict[str, str]]]) -> list[Signal]:
    """A run of consecutive school sessions, all coded from the window's categories, reaching the
    enrolment's latest marked school session on or before the day (a register not yet taken at the end
    neither breaks nor extends it), which must be among the last 2 x `sessions` school sessions (the
    window: candidates have at least `sessions` counted sessions in it)."""
    if not candidates:
        return []
    # Every academic year up to the day, end to end: slot i of the whole is slot i - offset of its year.
    years = [y for y in calendar.years if y.start <= on]
    offsets, total = {}, 0
    for year in years:
        offsets[year.start] = total
        total += year.slots
    school = int("".join(calendar.school_mask(y, on) for y in years) or "0", 2)
    window_from = _continuous_window_from(calendar, on, window.at_least)
    window_year = calendar.year_for(window_from[0])  # type: ignore[index]  # a continuous window exists only once its start does (see _windows)
    first_in_window = offsets[window_year.start] + window_year.slot(*window_from)  # type: ignore[union-attr,misc]  # a continuous window exists only once its start does (see _windows)
    by_offset = sorted((offsets[y.start], y) for y in years)
    found = []
    for school_id, enrolment_id in sorted(candidates):
        marked = counted = 0
        for year_start, texts in bits.get(enrolment_id, {}).items():
            if year_start not in offsets:
                continue
            shift = total - offsets[year_start] - len(texts["marked"])
            marked |= int(texts["marked"], 2) << shift
            for category in window.categories:
                counted |= int(texts[category], 2) << shift
        run = _run(total, school, marked & school, counted & school)
        if run is None:
            continue
        first, last, count = run
        if last < first_in_window or count < window.at_least:
            continue
        first_day, last_day = (_session_of(by_offset, i) for i in (first, last))
        found.append(_signal(school_id, enrolment_id, window.kind, first_day[0], count,
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
