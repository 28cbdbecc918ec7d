"""The append-only rule as a plain trigger: pgtrigger's Protect stepped aside for `pgtrigger.ignore`,
which any connection may set. See attendance_portal/dbguards.py.
"""

import pgtrigger.migrations
from django.db import migrations

from attendance_portal.dbguards import append_only_sql

APPEND_ONLY, DROP_APPEND_ONLY = append_only_sql(
    table="interventions_caseevent", trigger="interventions_caseevent_append_only", function="interventions_caseevent_refuse_change",
    what="a case's timeline is append-only")


class Migration(migrations.Migration):

    dependencies = [
        ('interventions', '0003_action_letters'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='caseevent',
            name='case_event_append_only',
        ),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
