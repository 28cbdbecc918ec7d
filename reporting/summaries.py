# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""Maintains `AttendanceSummary` from the marks, in set-based SQL, one school at a time.

* Full rebuild: one aggregate over the school's marks gives every week row; year rows are sums of
  week rows. Rows are then written only where they differ, so a rebuild of unchanged data changes
  nothing and reports zero rows changed.
* Incremental: the weeks holding marks updated since the watermark are recomputed from their marks;
  the difference between the new and the stored week is added to the year row. Marks are never
  deleted and never change enrolment or date, so a changed week always still has marks.

Every statement filters `school_id` (row-level security may sit underneath later).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from attendance_portal.models import School
from registers import codes

from .calendar import SchoolCalendar
from .models import FIGURE_FIELDS

TABLE = "reporting_attendancesummary"
MARKS = "registers_mark"
# Category of each code, computed once per mark. The commonest codes come first: CASE stops at the
# first match, which is most of the cost of an aggregate over millions of marks.
_CATEGORIES: list[tuple[str, frozenset[str]]] = [
    ("present", codes.ON_TIME),
    ("late_before_close", frozenset({"L"})),
    ("aea", codes.APPROVED_EDUCATIONAL_ACTIVITY),
    ("illness", frozenset({"I"})),
    ("authorised_other", codes.AUTHORISED - {"I"}),
    ("reason_not_established", frozenset({"N"})),
    ("unauthorised_go", codes.UNAUTHORISED - {"N", "U"}),
    ("late_after_close", frozenset({"U"})),
]
_NUMBER = {name: n for n, (name, _) in enumerate(_CATEGORIES, start=1)}
NOT_POSSIBLE = len(_CATEGORIES) + 1


def _literal(code: str) -> str:
    assert "'" not in code  # noqa: S101 - codes come from our own table
    return f"'{code}'"


def category_sql(column: str = "code") -> str:
    cases = []
    for name, members in _CATEGORIES:
        listed = ", ".join(_literal(c) for c in sorted(members))
        cases.append(f"WHEN {column} IN ({listed}) THEN {_NUMBER[name]}")
    return f"CASE {' '.join(cases)} ELSE {NOT_POSSIBLE} END"


def _check_categories() -> None:
    covered = set().union(*(members for _, members in _CATEGORIES))
    assert covered == set(codes.POSSIBLE), "every possible code needs exactly one category"  # noqa: S101


_check_categories()
n = _NUMBER

# Aggregates over a relation with columns `cat` and `minutes_late`, in FIGURE_FIELDS order.
_FIGURE_EXPRESSIONS = [
    f"count(*) FILTER (WHERE cat < {NOT_POSSIBLE})",
    f"count(*) FILTER (WHERE cat <= {n['late_before_close']})",
    f"count(*) FILTER (WHERE cat = {n['late_before_close']})",
    f"count(*) FILTER (WHERE cat = {n['aea']})",
    f"count(*) FILTER (WHERE cat IN ({n['illness']}, {n['authorised_other']}))",
    f"count(*) FILTER (WHERE cat = {n['illness']})",
    f"count(*) FILTER (WHERE cat >= {n['reason_not_established']} AND cat < {NOT_POSSIBLE})",
    f"count(*) FILTER (WHERE cat IN ({n['reason_not_established']}, {n['unauthorised_go']}))",
    f"count(*) FILTER (WHERE cat = {n['reason_not_established']})",
    f"count(*) FILTER (WHERE cat = {n['late_after_close']})",
    "coalesce(sum(minutes_late), 0)",
    f"count(*) FILTER (WHERE cat = {NOT_POSSIBLE})",
]
FIGURES_SQL = ",\n".join(f"{expr} AS {name}" for expr, name in zip(_FIGURE_EXPRESSIONS, FIGURE_FIELDS, strict=True))
COLUMNS = ", ".join(FIGURE_FIELDS)


# The same figures from rows (cat, n, minutes) already counted per category: the week rows are built
# in two steps, first one count per (enrolment, week, category), then the twelve figures from those
# few rows. Twelve filtered aggregates per mark cost twice as much as the extra step (measured).
_PRE = "count(*) FILTER (WHERE "
_SUMMED_EXPRESSIONS = [
    f"coalesce(sum(n) FILTER (WHERE {expr[len(_PRE):-1]}), 0)::int" if expr.startswith(_PRE)
    else "coalesce(sum(minutes), 0)::int"
    for expr in _FIGURE_EXPRESSIONS
]
SUMMED_FIGURES_SQL = ",\n".join(
    f"{expr} AS {name}" for expr, name in zip(_SUMMED_EXPRESSIONS, FIGURE_FIELDS, strict=True))


def _week_rows_sql(calendar: SchoolCalendar, where: str, source: str = f"{MARKS} m") -> str:
    """Week rows (enrolment_id, kind, start, end, figures…) from the marks matching `where`."""
    return f"""
        SELECT enrolment_id, 'week' AS kind, start, {calendar.bucket_end_sql('start')} AS "end",
               {SUMMED_FIGURES_SQL}
          FROM (SELECT m.enrolment_id, {calendar.bucket_start_sql('m.date')} AS start,
                       {category_sql('m.code')} AS cat, count(*)::int AS n, sum(m.minutes_late)::int AS minutes
                  FROM {source}
                 WHERE {where}
                 GROUP BY 1, 2, 3) AS counted
         GROUP BY enrolment_id, start
    """


def _year_rows_sql(source: str) -> str:
    """Year rows summed from the week rows of `source` (a relation with kind, start and the figures)."""
    sums = ", ".join(f"sum(w.{f})" for f in FIGURE_FIELDS)
    return f"""
        SELECT w.enrolment_id, 'year', y.start, y."end", {sums}
          FROM {source} w
          JOIN unnest(%(year_starts)s::date[], %(year_ends)s::date[]) AS y(start, "end")
            ON w.start BETWEEN y.start AND y."end"
         WHERE w.kind = 'week'
         GROUP BY w.enrolment_id, y.start, y."end"
    """


def _params(school: School, calendar: SchoolCalendar, **extra: object) -> dict[str, object]:
    return {
        "school": school.pk,
        "year_starts": [y.start for y in calendar.years],
        "year_ends": [y.end for y in calendar.years],
        **extra,
    }


def summaries_rebuild(*, school: School, calendar: SchoolCalendar) -> int:
    """Recompute every summary row of the school; returns the number of rows written or removed."""
    params = _params(school, calendar)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE school_id = %(school)s)", params)
        if not cursor.fetchone()[0]:
            return _rebuild_into_empty(cursor, calendar, params)
        cursor.execute("DROP TABLE IF EXISTS reporting_fresh")
        cursor.execute(
            f"CREATE TEMP TABLE reporting_fresh ON COMMIT DROP AS "
            f"{_week_rows_sql(calendar, 'school_id = %(school)s')}", params)
        cursor.execute(f"INSERT INTO reporting_fresh {_year_rows_sql('reporting_fresh')}", params)
        cursor.execute(f"""
            DELETE FROM {TABLE} s
             WHERE s.school_id = %(school)s
               AND NOT EXISTS (SELECT 1 FROM reporting_fresh f WHERE f.enrolment_id = s.enrolment_id
                                  AND f.kind = s.kind AND f.start = s.start)""", params)
        removed = cursor.rowcount
        written = _upsert(cursor, "reporting_fresh", params)
    return removed + written


def _rebuild_into_empty(cursor, calendar: SchoolCalendar, params: dict[str, object]) -> int:  # type: ignore[no-untyped-def]
    insert = f"INSERT INTO {TABLE} (school_id, enrolment_id, kind, start, \"end\", {COLUMNS})"
    cursor.execute(f"{insert} SELECT %(school)s, * FROM ({_week_rows_sql(calendar, 'school_id = %(school)s')}) w",
                   params)
    weeks = cursor.rowcount
    cursor.execute(f"{insert} SELECT %(school)s, * FROM ("
                   f"{_year_rows_sql(f'(SELECT * FROM {TABLE} WHERE school_id = %(school)s) ')}) y", params)
    years = cursor.rowcount
    # A first build adds many rows at once; without fresh statistics the planner takes the table for
    # empty and the signal queries fall into nested loops. Every school's first build needs it: a school
    # missing from the statistics is estimated at one row even when the table is large (measured).
    # Only the key columns are sampled again (a third of the time); the figures' statistics, which
    # matter less, come from the table's first analysis and from autovacuum.
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
    if cursor.fetchone()[0] < 0:
        cursor.execute(f"ANALYZE {TABLE}")
    else:
        cursor.execute(f'ANALYZE {TABLE} (school_id, enrolment_id, kind, start, "end")')
    return weeks + years


def _upsert(cursor, source: str, params: dict[str, object]) -> int:  # type: ignore[no-untyped-def]
    assignments = ", ".join(f"{f} = excluded.{f}" for f in ("end", *FIGURE_FIELDS)).replace(
        "end = excluded.end", '"end" = excluded."end"')
    current = ", ".join(f"s.{f}" for f in FIGURE_FIELDS)
    incoming = ", ".join(f"excluded.{f}" for f in FIGURE_FIELDS)
    cursor.execute(f"""
        INSERT INTO {TABLE} AS s (school_id, enrolment_id, kind, start, "end", {COLUMNS})
        SELECT %(school)s, enrolment_id, kind, start, "end", {COLUMNS} FROM {source}
        ON CONFLICT (school_id, enrolment_id, kind, start) DO UPDATE SET {assignments}
         WHERE (s."end", {current}) IS DISTINCT FROM (excluded."end", {incoming})""", params)
    return cursor.rowcount


def summaries_update(*, school: School, calendar: SchoolCalendar, changed_since: dt.datetime) -> int:
    """Bring the summaries up to date with marks updated at or after `changed_since`."""
    params = _params(school, calendar, since=changed_since)
    start = calendar.bucket_start_sql("date")
    deltas = ", ".join(f"sum(f.{f} - coalesce(o.{f}, 0)) AS {f}" for f in FIGURE_FIELDS)
    nonzero = " OR ".join(f"sum(f.{f} - coalesce(o.{f}, 0)) <> 0" for f in FIGURE_FIELDS)
    add = ", ".join(f"{f} = s.{f} + excluded.{f}" for f in FIGURE_FIELDS)
    differs = " OR ".join(f"f.{f} IS DISTINCT FROM o.{f}" for f in FIGURE_FIELDS)
    fresh_figures = ", ".join(f"f.{x}" for x in FIGURE_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH changed AS MATERIALIZED (
                SELECT enrolment_id, pupil_id, start, {calendar.bucket_end_sql('start')} AS "end"
                  FROM (SELECT DISTINCT enrolment_id, pupil_id, {start} AS start
                          FROM {MARKS}
                         WHERE school_id = %(school)s AND updated_at >= %(since)s) AS touched
            ),
            -- The changed weeks' marks, one range of the (school, pupil, date) index per changed week
            -- (buckets never overlap, so no mark is counted twice): never a scan of the school's year.
            -- OFFSET 0 keeps the planner from turning this back into a hash join over the whole school.
            fresh AS (
                {_week_rows_sql(calendar, 'm.school_id = %(school)s', source=f'''changed c CROSS JOIN LATERAL (
                    SELECT x.* FROM {MARKS} x
                     WHERE x.school_id = %(school)s AND x.pupil_id = c.pupil_id AND x.enrolment_id = c.enrolment_id
                       AND x.date BETWEEN c.start AND c."end"
                    OFFSET 0) m''')}
            ),
            wanted AS (
                SELECT f.* FROM fresh f JOIN changed c USING (enrolment_id, start)
            ),
            old AS (
                SELECT s.* FROM changed c CROSS JOIN LATERAL (
                    SELECT * FROM {TABLE} x
                     WHERE x.school_id = %(school)s AND x.enrolment_id = c.enrolment_id AND x.kind = 'week'
                       AND x.start = c.start
                    OFFSET 0) s
            ),
            weeks AS (
                INSERT INTO {TABLE} AS s (school_id, enrolment_id, kind, start, "end", {COLUMNS})
                SELECT %(school)s, f.enrolment_id, 'week', f.start, f."end", {fresh_figures}
                  FROM wanted f LEFT JOIN old o USING (enrolment_id, start)
                 WHERE o.enrolment_id IS NULL OR {differs}
                ON CONFLICT (school_id, enrolment_id, kind, start) DO UPDATE
                   SET {', '.join(f'{x} = excluded.{x}' for x in FIGURE_FIELDS)}
                RETURNING 1
            ),
            years AS (
                INSERT INTO {TABLE} AS s (school_id, enrolment_id, kind, start, "end", {COLUMNS})
                SELECT %(school)s, f.enrolment_id, 'year', y.start, y."end", {deltas}
                  FROM wanted f LEFT JOIN old o USING (enrolment_id, start)
                  JOIN unnest(%(year_starts)s::date[], %(year_ends)s::date[]) AS y(start, "end")
                    ON f.start BETWEEN y.start AND y."end"
                 GROUP BY f.enrolment_id, y.start, y."end"
                HAVING {nonzero}
                ON CONFLICT (school_id, enrolment_id, kind, start) DO UPDATE SET {add}
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM weeks) + (SELECT count(*) FROM years)
        """, params)
        return cursor.fetchone()[0]
