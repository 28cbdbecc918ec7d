"""When a mark behind a letter is amended, the letter learns of it in the same transaction.

A statement-level trigger on the marks joins the statement's changed rows to the sessions letters were
built from: an unsent letter becomes 'stale' (it must be made again or approved again) and every
letter, sent or not, records when its evidence changed. Set-based, so a register save pays one join
against a small indexed table, however many marks it writes.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION letters_evidence_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE letters_letter l
       SET evidence_changed_at = coalesce(l.evidence_changed_at, now()),
           status = CASE WHEN l.status IN ('queued', 'rendering', 'rendered') THEN 'stale' ELSE l.status END
     WHERE l.id IN (
        SELECT ls.letter_id
          FROM letters_evidence_new n
          JOIN letters_evidence_old o ON o.id = n.id
          JOIN letters_lettersession ls
            ON ls.school_id = n.school_id AND ls.pupil_id = n.pupil_id AND ls.date = n.date
           AND ls.session = n.session
         WHERE n.code IS DISTINCT FROM o.code);
    RETURN NULL;
END
$$;
CREATE TRIGGER letters_evidence_changed
    AFTER UPDATE ON registers_mark
    REFERENCING OLD TABLE AS letters_evidence_old NEW TABLE AS letters_evidence_new
    FOR EACH STATEMENT EXECUTE FUNCTION letters_evidence_changed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS letters_evidence_changed ON registers_mark;
DROP FUNCTION IF EXISTS letters_evidence_changed();
"""


class Migration(migrations.Migration):
    dependencies = [("letters", "0001_initial"), ("registers", "0004_minutes_late_index")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
