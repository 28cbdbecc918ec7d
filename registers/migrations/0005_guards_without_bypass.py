"""The marks' guards as plain triggers that nothing but the tables' owner can step round.

pghistory's and pgtrigger's triggers (the audit copy, "never deleted", "events append-only") begin by
asking `pgtrigger.ignore`, a setting any connection may set: with it, a mark could be changed with no
event written, or deleted. These replace them, with the same audit rows, and consult no setting but one:

- A change to what a saved mark says (its code, minutes late or note, or which pupil, session or
  enrolment it is for) is refused unless the statement carries the context `marks_save` sets through
  `pghistory.context()`: who (a name) and why (a reason). That context is copied into the event, so
  a change cannot be both made and left unexplained. The application role can still set the context
  itself; what it cannot do is change a mark without a who and a why ending up in the history.
- Disabling a trigger or TRUNCATE needs the owner (attendance_portal.dbroles); the application's role
  has neither.
"""

import pgtrigger.migrations
from django.db import migrations

from attendance_portal.dbguards import append_only_sql

COLUMNS = ("code", "date", "enrolment_id", "minutes_late", "note", "pupil_id", "recorded_by_id", "school_id",
           "session", "version")
# Fields whose change is an amendment (needs who and why); `version`, `recorded_by` and the times follow them.
AMENDED = ("school_id", "pupil_id", "enrolment_id", "date", "session", "code", "minutes_late", "note")


def _copy(label: str, rows: str) -> str:
    """INSERT … SELECT into the events, one statement per marks statement (set speed for registers and imports)."""
    return f"""
    PERFORM _pgh_attach_context();
    INSERT INTO registers_markevent ({", ".join(COLUMNS)}, pgh_context, pgh_context_id, pgh_created_at, pgh_label,
                                     pgh_obj_id)
    SELECT {", ".join(f"n.{c}" for c in COLUMNS)},
           NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb,
           NULLIF(current_setting('pghistory.context_id', true), '')::uuid, now(), '{label}', n.id
      FROM {rows};
    RETURN NULL;"""


_OLD = ", ".join(f"o.{c}" for c in COLUMNS)
_NEW = ", ".join(f"n.{c}" for c in COLUMNS)
_OLD_ROW = ", ".join(f"OLD.{c}" for c in AMENDED)
_NEW_ROW = ", ".join(f"NEW.{c}" for c in AMENDED)

NEVER_DELETED, NEVER_DELETED_BACK = append_only_sql(
    table="registers_mark", trigger="registers_mark_never_deleted", function="registers_mark_refuse_delete",
    what="marks are never deleted", operations="DELETE")
EVENTS_APPEND_ONLY, EVENTS_APPEND_ONLY_BACK = append_only_sql(
    table="registers_markevent", trigger="registers_markevent_append_only",
    function="registers_markevent_refuse_change", what="the history of marks is append-only")

FORWARD = f"""
CREATE FUNCTION registers_mark_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_copy("recorded", "registers_mark_inserted n")}
END;
$$;
CREATE TRIGGER registers_mark_recorded
    AFTER INSERT ON registers_mark
    REFERENCING NEW TABLE AS registers_mark_inserted
    FOR EACH STATEMENT EXECUTE FUNCTION registers_mark_recorded();

CREATE FUNCTION registers_mark_amended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_copy("amended", "registers_mark_before o JOIN registers_mark_after n ON n.id = o.id "
            f"WHERE ({_OLD}) IS DISTINCT FROM ({_NEW})")}
END;
$$;
CREATE TRIGGER registers_mark_amended
    AFTER UPDATE ON registers_mark
    REFERENCING OLD TABLE AS registers_mark_before NEW TABLE AS registers_mark_after
    FOR EACH STATEMENT EXECUTE FUNCTION registers_mark_amended();

CREATE FUNCTION registers_mark_amendment_explained() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    context jsonb := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
BEGIN
    IF coalesce(btrim(context ->> 'reason'), '') = '' OR coalesce(btrim(context ->> 'name'), '') = ''
       OR NULLIF(current_setting('pghistory.context_id', true), '') IS NULL THEN
        RAISE EXCEPTION 'mark % cannot change without who and why: amend marks through registers.services.marks_save',
            OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER registers_mark_amendment_explained
    BEFORE UPDATE ON registers_mark
    FOR EACH ROW WHEN (({_OLD_ROW}) IS DISTINCT FROM ({_NEW_ROW}))
    EXECUTE FUNCTION registers_mark_amendment_explained();
{NEVER_DELETED}{EVENTS_APPEND_ONLY}"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS registers_mark_amendment_explained ON registers_mark;
DROP FUNCTION IF EXISTS registers_mark_amendment_explained();
DROP TRIGGER IF EXISTS registers_mark_amended ON registers_mark;
DROP FUNCTION IF EXISTS registers_mark_amended();
DROP TRIGGER IF EXISTS registers_mark_recorded ON registers_mark;
DROP FUNCTION IF EXISTS registers_mark_recorded();
{NEVER_DELETED_BACK}{EVENTS_APPEND_ONLY_BACK}"""


class Migration(migrations.Migration):

    dependencies = [
        ('registers', '0004_minutes_late_index'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='mark',
            name='mark_never_deleted',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='mark',
            name='recorded_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='mark',
            name='amended_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='markevent',
            name='append_only',
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
