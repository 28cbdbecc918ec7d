"""The statistics run's signal writes, recorded for casework in the run's own transaction.

Statement-level triggers with transition tables: one insert per statement of the run, whatever its size.
The signals table knows nothing of casework; this app reads what changed and empties the rows it read.
"""

from django.db import migrations

SQL = """
CREATE FUNCTION interventions_signal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interventions_signalchange (school_id, enrolment_id, kind)
    SELECT DISTINCT school_id, enrolment_id, kind FROM changed;
    RETURN NULL;
END $$;
CREATE TRIGGER interventions_signal_inserted AFTER INSERT ON reporting_attendancesignal
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION interventions_signal_changed();
CREATE TRIGGER interventions_signal_updated AFTER UPDATE ON reporting_attendancesignal
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION interventions_signal_changed();
CREATE INDEX interventions_signalchange_school_id ON interventions_signalchange (school_id, id);
"""

REVERSE = """
DROP TRIGGER IF EXISTS interventions_signal_inserted ON reporting_attendancesignal;
DROP TRIGGER IF EXISTS interventions_signal_updated ON reporting_attendancesignal;
DROP FUNCTION IF EXISTS interventions_signal_changed();
DROP INDEX IF EXISTS interventions_signalchange_school_id;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("interventions", "0001_initial"),
        ("reporting", "0004_summaries_kept_on_write"),
    ]

    operations = [migrations.RunSQL(SQL, REVERSE)]
