"""The append-only rule as a plain trigger: pgtrigger's Protect stepped aside for `pgtrigger.ignore`,
which any connection may set. See attendance_portal/dbguards.py.
"""

import pgtrigger.migrations
from django.db import migrations

from attendance_portal.dbguards import append_only_sql

APPEND_ONLY, DROP_APPEND_ONLY = append_only_sql(
    table="staff_staffchange", trigger="staff_staffchange_append_only", function="staff_staffchange_refuse_change",
    what="the record of staff changes is append-only")


class Migration(migrations.Migration):

    dependencies = [
        ('staff', '0001_initial'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='staffchange',
            name='staffchange_append_only',
        ),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
