from django.db import migrations

# The trigger function's body as it was written for this migration; `reporting.summaries.APPLY_BODY` is
# the current one, and a test checks that the installed body is the same (a change needs a migration).
BODY = r"""
BEGIN
    PERFORM pg_advisory_xact_lock_shared(21333, s.school_id::int)
       FROM (SELECT DISTINCT school_id FROM new_marks ORDER BY school_id) AS s;
    -- The rows a first mark in the year creates, empty: then one update fills every row, and two
    -- writers creating the same row at once both land in it. Only the missing rows are built (most
    -- marks have a row already), in key order, so two writers never wait on each other's crosswise.
    INSERT INTO reporting_attendancesummary (school_id, enrolment_id, start, "end", on_time, late_before_close, approved_educational_activity, illness, authorised_other, reason_not_established, unauthorised_g, unauthorised_o, late_after_close, not_possible, minutes_late)
    SELECT k.school_id, k.enrolment_id, y.start, y."end", y.zero, y.zero, y.zero, y.zero, y.zero, y.zero, y.zero, y.zero, y.zero, y.zero, '{}'::jsonb
      FROM (SELECT DISTINCT m.school_id, m.enrolment_id, a.start
              FROM new_marks m
              JOIN registers_academicyear a ON a.school_id = m.school_id AND m.date BETWEEN a.start AND a."end"
             WHERE NOT EXISTS (SELECT 1 FROM reporting_attendancesummary s WHERE s.school_id = m.school_id
                                  AND s.enrolment_id = m.enrolment_id AND s.start = a.start)) AS k
      JOIN (SELECT a.school_id, a.start, a."end",
                   ('1' || repeat('0', (a."end" - a.start + 1) * 2 - 1))::varbit AS one,
                   repeat('0', (a."end" - a.start + 1) * 2)::varbit AS zero
              FROM registers_academicyear a
             WHERE a.school_id IN (SELECT DISTINCT school_id FROM new_marks)) AS y ON y.school_id = k.school_id AND y.start = k.start
     ORDER BY k.school_id, k.enrolment_id, y.start
    ON CONFLICT (school_id, enrolment_id, start) DO NOTHING;
    WITH changed AS MATERIALIZED (
        SELECT m.school_id, m.enrolment_id, y.start, y."end",
               coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 1), y.zero) AS on_time,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 2), y.zero) AS late_before_close,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 3), y.zero) AS approved_educational_activity,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 4), y.zero) AS illness,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 5), y.zero) AS authorised_other,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 6), y.zero) AS reason_not_established,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 7), y.zero) AS unauthorised_g,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 8), y.zero) AS unauthorised_o,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 9), y.zero) AS late_after_close,
coalesce(bit_or((y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int))) FILTER (WHERE c.cat = 10), y.zero) AS not_possible,
               bit_or(y.one >> ((m.date - y.start) * 2 + (m.session = 'PM')::int)) AS touched,
               array_agg(((m.date - y.start) * 2 + (m.session = 'PM')::int)::text) AS slots,
               coalesce(jsonb_object_agg(((m.date - y.start) * 2 + (m.session = 'PM')::int), m.minutes_late) FILTER (WHERE m.minutes_late IS NOT NULL), '{}'::jsonb) AS minutes_late
          FROM new_marks m
          JOIN (VALUES ('#'::varchar, 10), ('/'::varchar, 1), ('B'::varchar, 3), ('C'::varchar, 5), ('C1'::varchar, 5), ('C2'::varchar, 5), ('D'::varchar, 10), ('E'::varchar, 5), ('F'::varchar, 5), ('G'::varchar, 7), ('H'::varchar, 5), ('I'::varchar, 4), ('J'::varchar, 3), ('J1'::varchar, 5), ('K'::varchar, 3), ('L'::varchar, 2), ('M'::varchar, 5), ('N'::varchar, 6), ('O'::varchar, 8), ('P'::varchar, 3), ('Q'::varchar, 10), ('R'::varchar, 5), ('S'::varchar, 5), ('T'::varchar, 5), ('U'::varchar, 9), ('V'::varchar, 3), ('W'::varchar, 3), ('X'::varchar, 10), ('Y'::varchar, 10), ('Y1'::varchar, 10), ('Y2'::varchar, 10), ('Y3'::varchar, 10), ('Y4'::varchar, 10), ('Y5'::varchar, 10), ('Y6'::varchar, 10), ('Y7'::varchar, 10), ('Z'::varchar, 10), ('\'::varchar, 1)) AS c(code, cat) ON c.code = m.code
          JOIN (SELECT a.school_id, a.start, a."end",
                   ('1' || repeat('0', (a."end" - a.start + 1) * 2 - 1))::varbit AS one,
                   repeat('0', (a."end" - a.start + 1) * 2)::varbit AS zero
              FROM registers_academicyear a
             WHERE a.school_id IN (SELECT DISTINCT school_id FROM new_marks)) AS y ON y.school_id = m.school_id AND m.date BETWEEN y.start AND y."end"
         GROUP BY m.school_id, m.enrolment_id, y.start, y."end", y.one, y.zero
    )
    UPDATE reporting_attendancesummary s SET on_time = (s.on_time & ~c.touched) | c.on_time, late_before_close = (s.late_before_close & ~c.touched) | c.late_before_close, approved_educational_activity = (s.approved_educational_activity & ~c.touched) | c.approved_educational_activity, illness = (s.illness & ~c.touched) | c.illness, authorised_other = (s.authorised_other & ~c.touched) | c.authorised_other, reason_not_established = (s.reason_not_established & ~c.touched) | c.reason_not_established, unauthorised_g = (s.unauthorised_g & ~c.touched) | c.unauthorised_g, unauthorised_o = (s.unauthorised_o & ~c.touched) | c.unauthorised_o, late_after_close = (s.late_after_close & ~c.touched) | c.late_after_close, not_possible = (s.not_possible & ~c.touched) | c.not_possible, minutes_late = ((s.minutes_late - c.slots) || c.minutes_late)
      FROM changed c
     WHERE s.school_id = c.school_id AND s.enrolment_id = c.enrolment_id AND s.start = c.start
       AND s."end" = c."end" AND ((s.on_time & c.touched) <> c.on_time OR (s.late_before_close & c.touched) <> c.late_before_close OR (s.approved_educational_activity & c.touched) <> c.approved_educational_activity OR (s.illness & c.touched) <> c.illness OR (s.authorised_other & c.touched) <> c.authorised_other OR (s.reason_not_established & c.touched) <> c.reason_not_established OR (s.unauthorised_g & c.touched) <> c.unauthorised_g OR (s.unauthorised_o & c.touched) <> c.unauthorised_o OR (s.late_after_close & c.touched) <> c.late_after_close OR (s.not_possible & c.touched) <> c.not_possible OR ((s.minutes_late - c.slots) || c.minutes_late) <> s.minutes_late);
    RETURN NULL;
END
"""

FUNCTION = "reporting_summaries_apply"
INSTALL = [
    f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $body${BODY}$body$",
    *(f"""CREATE TRIGGER reporting_summaries_{operation.lower()} AFTER {operation} ON registers_mark
          REFERENCING NEW TABLE AS new_marks FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"""
      for operation in ("INSERT", "UPDATE")),
]
REMOVE = [
    "DROP TRIGGER IF EXISTS reporting_summaries_insert ON registers_mark",
    "DROP TRIGGER IF EXISTS reporting_summaries_update ON registers_mark",
    f"DROP FUNCTION IF EXISTS {FUNCTION}()",
]


class Migration(migrations.Migration):
    """Summaries are kept as the marks are written, by a statement-level trigger on the marks. Marks
    written before it are brought in by a full rebuild: the calendar key changes with this release, so
    each school's next run rebuilds."""

    dependencies = [
        ("reporting", "0003_signal_fingerprint"),
        ("registers", "0004_minutes_late_index"),
    ]

    operations = [
        migrations.RunSQL(sql=INSTALL, reverse_sql=REMOVE),
    ]
