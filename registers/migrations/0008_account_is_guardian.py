"""Whether an account is linked to a guardian in any school, for the application role.

Guardian rows are school-owned, so row-level security shows the application only the open scope's. The
navigation asks on every page whether the signed-in account is a parent anywhere (to offer the parent
portal); this function answers that one yes or no, running as its owner (the role that migrates), so the
question needs neither every school's rows opened nor a scope switched twice per page. It reveals nothing
else about a guardian.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION attendance_account_is_guardian(account bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.registers_guardian WHERE user_id = account)
$$;
REVOKE ALL ON FUNCTION attendance_account_is_guardian(bigint) FROM PUBLIC;
"""
BACKWARD = "DROP FUNCTION IF EXISTS attendance_account_is_guardian(bigint);"


class Migration(migrations.Migration):
    dependencies = [("registers", "0007_guardian_address")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
