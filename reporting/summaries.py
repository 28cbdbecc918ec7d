# ruff: noqa: S608 - SQL is assembled only from this package's constants (code table, field names,
# calendar dates); every value that comes from outside is a bound parameter.
"""Maintains `AttendanceSummary` from the marks, in set-based SQL, one school at a time.

A summary row is an enrolment's register for one academic year, as one bit string per category of
code (see `reporting.models`).

* Full rebuild: one aggregate per academic year over the school's marks, `bit_or` of each mark's
  slot into its category. Rows are then written only where they differ, so a rebuild of unchanged
  data changes nothing and reports zero rows changed.
* As marks are written: a statement-level trigger on the marks aggregates each statement's marks the
  same way; in each affected row the slots they cover are cleared in every category and set again
  from the new codes. Work is proportional to the marks written, not to the year. Marks are never
  deleted and never change enrolment, date or session, so clearing and setting a changed slot is
  exact, and the rows are the rebuild's to the byte.

Marks on days outside every academic year have no summary; `reporting.figures` counts them from the
marks. Every statement filters `school_id` (row-level security may sit underneath later).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from attendance_portal.models import School
from registers import codes
from registers.calendar import SchoolCalendar, Year

from .dashboard_cache import summaries_changed
from .models import CATEGORY_FIELDS

TABLE = "reporting_attendancesummary"
MARKS = "registers_mark"
CATEGORY_CODES: dict[str, frozenset[str]] = {
    "on_time": codes.ON_TIME,
    "late_before_close": frozenset({"L"}),
    "approved_educational_activity": codes.APPROVED_EDUCATIONAL_ACTIVITY,
    "illness": frozenset({"I"}),
    "authorised_other": codes.AUTHORISED - {"I"},
    "reason_not_established": frozenset({"N"}),
    "unauthorised_g": frozenset({"G"}),
    "unauthorised_o": frozenset({"O"}),
    "late_after_close": frozenset({"U"}),
    "not_possible": frozenset(codes.CODES) - codes.POSSIBLE,
}
CATEGORY_OF = {code: CATEGORY_FIELDS.index(name) + 1 for name, members in CATEGORY_CODES.items() for code in members}
# Codes the way the sessions behind a signal are shown: the one code of a single-code category.
CODE_OF = {name: next(iter(members)) for name, members in CATEGORY_CODES.items() if len(members) == 1}


def _check_categories() -> None:
    assert tuple(CATEGORY_CODES) == CATEGORY_FIELDS  # noqa: S101 - the SQL relies on this order
    assert sum(len(m) for m in CATEGORY_CODES.values()) == len(CATEGORY_OF) == len(codes.CODES)  # noqa: S101


_check_categories()


def _literal(code: str) -> str:
    assert "'" not in code  # noqa: S101 - codes come from our own table
    return f"'{code}'"


# The category of each code, as a relation to join the marks to (a hash join: cheaper per mark than
# a CASE over the code lists, measured).
CATEGORIES_SQL = "(VALUES " + ", ".join(
    f"({_literal(code)}::varchar, {number})" for code, number in sorted(CATEGORY_OF.items())) + ") AS c(code, cat)"
BITS = ", ".join(CATEGORY_FIELDS)


def slot_sql(start: str, alias: str = "m") -> str:
    return f"(({alias}.date - {start}) * 2 + ({alias}.session = 'PM')::int)"


def _aggregates_sql(one: str, zero: str, start: str) -> str:
    """Per group of marks (joined to CATEGORIES_SQL): one bit string per category."""
    bit = f"({one} >> {slot_sql(start)})"
    return ",\n".join(f"coalesce(bit_or({bit}) FILTER (WHERE c.cat = {n}), {zero}) AS {name}"
                       for n, name in enumerate(CATEGORY_FIELDS, start=1))


def _minutes_sql(start: str) -> str:
    """Minutes late by slot, as a JSON object, for a group of marks."""
    return (f"coalesce(jsonb_object_agg({slot_sql(start)}, m.minutes_late) FILTER (WHERE m.minutes_late IS NOT NULL), "
            "'{}'::jsonb)")


# Only late marks carry minutes. They are aggregated apart from the bits, from the partial index of
# marks with minutes late: an object aggregate over every mark costs as much as all the bits (measured).


def _year_params(year: Year) -> dict[str, Any]:
    return {"year_start": year.start, "year_end": year.end, "one": "1" + "0" * (year.slots - 1), "zero": year.zero}


def summaries_rebuild(*, school: School, calendar: SchoolCalendar) -> int:
    """Recompute every summary row of the school; returns the number of rows written or removed."""
    with connection.cursor() as cursor:
        # Until the transaction ends no writer of the school's marks can apply them to the summaries:
        # every mark is either read below or applied after this rebuild's rows are in place.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SUMMARY_LOCK, school.pk])
        cursor.execute("DROP TABLE IF EXISTS reporting_fresh")
        cursor.execute(f"CREATE TEMP TABLE reporting_fresh ON COMMIT DROP AS SELECT * FROM {TABLE} WITH NO DATA")
        for year in calendar.years:
            cursor.execute(f"""
                INSERT INTO reporting_fresh (school_id, enrolment_id, start, "end", {BITS}, minutes_late)
                SELECT %(school)s, b.*, coalesce(l.minutes_late, '{{}}'::jsonb)
                  FROM (SELECT m.enrolment_id, %(year_start)s::date, %(year_end)s::date,
                               {_aggregates_sql('%(one)s::varbit', '%(zero)s::varbit', '%(year_start)s::date')}
                          FROM {MARKS} m JOIN {CATEGORIES_SQL} ON c.code = m.code
                         WHERE m.school_id = %(school)s AND m.date BETWEEN %(year_start)s AND %(year_end)s
                         GROUP BY m.enrolment_id) AS b
                  LEFT JOIN (SELECT m.enrolment_id, {_minutes_sql('%(year_start)s::date')} AS minutes_late
                               FROM {MARKS} m
                              WHERE m.school_id = %(school)s AND m.date BETWEEN %(year_start)s AND %(year_end)s
                                AND m.minutes_late IS NOT NULL
                              GROUP BY m.enrolment_id) AS l USING (enrolment_id)""",
                           {"school": school.pk, **_year_params(year)})
        cursor.execute(f"""
            DELETE FROM {TABLE} s
             WHERE s.school_id = %(school)s
               AND (s.enrolment_id, s.start) NOT IN (SELECT f.enrolment_id, f.start FROM reporting_fresh f)""",
                       {"school": school.pk})
        # NOT IN over the key (never null) is a hashed lookup whatever the planner guesses of the
        # temporary table; NOT EXISTS became a nested loop over it (measured: 100 ms a school, not 2).
        removed = cursor.rowcount
        current = ", ".join(f"s.{f}" for f in ("end", *CATEGORY_FIELDS, "minutes_late")).replace("s.end", 's."end"')
        incoming = current.replace("s.", "excluded.")
        assignments = ", ".join(f"{f} = excluded.{f}" for f in ('"end"', *CATEGORY_FIELDS, "minutes_late"))
        cursor.execute(f"""
            INSERT INTO {TABLE} AS s SELECT * FROM reporting_fresh
            ON CONFLICT (school_id, enrolment_id, start) DO UPDATE SET {assignments}
             WHERE ({current}) IS DISTINCT FROM ({incoming})""")
        written = cursor.rowcount
        _analyze_after_first_build(cursor, written)
    if removed + written:
        summaries_changed(school_id=school.pk)  # the dashboards' kept figures are stale
    return removed + written


def _analyze_after_first_build(cursor, written: int) -> None:
    """The table's first rows get statistics at once, so the planner does not take it for empty until
    autovacuum comes. Later builds need none: every read of the table is a range of its primary key
    (school, enrolment, year), planned the same whatever the row counts."""
    if not written:
        return
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
    if cursor.fetchone()[0] < 0:
        cursor.execute("SELECT attendance_analyze(%s::regclass)", [TABLE])  # the owner's ANALYZE (planner.py)


# Kept as the marks are written -------------------------------------------------------------------
# Every INSERT or UPDATE statement on the marks applies its rows to the summaries in the same
# transaction (a statement-level trigger, so a register of 30 is one aggregate and one update, and no
# writer of marks can forget it). Summaries are then as current as the marks: the nightly run only
# judges the signals, and pages can read today's figures from them.
#
# A full rebuild of a school takes SUMMARY_LOCK exclusively while it reads the marks and writes the
# rows; writers take it shared, so no mark can land between the rebuild's read and its write.
SUMMARY_LOCK = 0x5355  # "SU"; the second key is the school id
APPLY_FUNCTION = "reporting_summaries_apply"
TRIGGERS = ("reporting_summaries_insert", "reporting_summaries_update")
# Each academic year's bounds and the bit strings of its layout.
_YEARS_SQL = """(SELECT a.school_id, a.start, a."end",
                   ('1' || repeat('0', (a."end" - a.start + 1) * 2 - 1))::varbit AS one,
                   repeat('0', (a."end" - a.start + 1) * 2)::varbit AS zero
              FROM registers_academicyear a
             WHERE a.school_id IN (SELECT DISTINCT school_id FROM new_marks)) AS y"""


def _apply_body() -> str:
    """The trigger function's body: the statement's marks (`new_marks`) applied to the summaries."""
    # Every code is in exactly one category, so the slots of the changed marks ("touched") are the union
    # of their categories; each row keeps its other slots and takes the new bits in the touched ones.
    # A row changes only if its old bits under the touched slots differ from the new ones. Rows whose
    # year has since changed its bounds (another layout) are left to the full rebuild that the changed
    # calendar brings on.
    kept = ", ".join(f"{f} = (s.{f} & ~c.touched) | c.{f}" for f in CATEGORY_FIELDS)
    differs = " OR ".join(f"(s.{f} & c.touched) <> c.{f}" for f in CATEGORY_FIELDS)
    minutes = "((s.minutes_late - c.slots) || c.minutes_late)"
    return f"""
BEGIN
    PERFORM pg_advisory_xact_lock_shared({SUMMARY_LOCK}, s.school_id::int)
       FROM (SELECT DISTINCT school_id FROM new_marks ORDER BY school_id) AS s;
    -- The rows a first mark in the year creates, empty: then one update fills every row, and two
    -- writers creating the same row at once both land in it. Only the missing rows are built (most
    -- marks have a row already), in key order, so two writers never wait on each other's crosswise.
    INSERT INTO {TABLE} (school_id, enrolment_id, start, "end", {BITS}, minutes_late)
    SELECT k.school_id, k.enrolment_id, y.start, y."end", {", ".join(["y.zero"] * len(CATEGORY_FIELDS))}, '{{}}'::jsonb
      FROM (SELECT DISTINCT m.school_id, m.enrolment_id, a.start
              FROM new_marks m
              JOIN registers_academicyear a ON a.school_id = m.school_id AND m.date BETWEEN a.start AND a."end"
             WHERE NOT EXISTS (SELECT 1 FROM {TABLE} s WHERE s.school_id = m.school_id
                                  AND s.enrolment_id = m.enrolment_id AND s.start = a.start)) AS k
      JOIN {_YEARS_SQL} ON y.school_id = k.school_id AND y.start = k.start
     ORDER BY k.school_id, k.enrolment_id, y.start
    ON CONFLICT (school_id, enrolment_id, start) DO NOTHING;
    WITH changed AS MATERIALIZED (
        SELECT m.school_id, m.enrolment_id, y.start, y."end",
               {_aggregates_sql('y.one', 'y.zero', 'y.start')},
               bit_or(y.one >> {slot_sql('y.start')}) AS touched,
               array_agg({slot_sql('y.start')}::text) AS slots,
               {_minutes_sql('y.start')} AS minutes_late
          FROM new_marks m
          JOIN {CATEGORIES_SQL} ON c.code = m.code
          JOIN {_YEARS_SQL} ON y.school_id = m.school_id AND m.date BETWEEN y.start AND y."end"
         GROUP BY m.school_id, m.enrolment_id, y.start, y."end", y.one, y.zero
    )
    UPDATE {TABLE} s SET {kept}, minutes_late = {minutes}
      FROM changed c
     WHERE s.school_id = c.school_id AND s.enrolment_id = c.enrolment_id AND s.start = c.start
       AND s."end" = c."end" AND ({differs} OR {minutes} <> s.minutes_late);
    RETURN NULL;
END
"""


APPLY_BODY = _apply_body()

