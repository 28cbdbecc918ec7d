"""ANALYZE for the application role, which owns no table and so may not run it itself.

Imports and the demo load tell the planner what they wrote (attendance_portal.planner); in PostgreSQL
16 only a table's owner may ANALYZE it. This function runs as its owner (the role that migrates) and
does nothing but ANALYZE one table of the public schema, so granting it gives no other power.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION attendance_analyze(target regclass) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = target AND c.relkind IN ('r', 'p')
                      AND c.relnamespace = 'public'::regnamespace) THEN
        RAISE EXCEPTION '% is not a table of the application', target USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('ANALYZE %s', target);
END;
$$;
REVOKE ALL ON FUNCTION attendance_analyze(regclass) FROM PUBLIC;
"""
BACKWARD = "DROP FUNCTION IF EXISTS attendance_analyze(regclass);"


class Migration(migrations.Migration):
    dependencies = [("attendance_portal", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
