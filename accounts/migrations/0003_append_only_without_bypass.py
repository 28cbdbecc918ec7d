"""The append-only rule as a plain trigger: pgtrigger's Protect stepped aside for `pgtrigger.ignore`,
which any connection may set. See attendance_portal/dbguards.py.
"""

import pgtrigger.migrations
from django.db import migrations

from attendance_portal.dbguards import append_only_sql

APPEND_ONLY, DROP_APPEND_ONLY = append_only_sql(
    table="accounts_accountevent", trigger="accounts_accountevent_append_only", function="accounts_accountevent_refuse_change",
    what="the account trail is append-only")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_signed_in_sessions'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='accountevent',
            name='account_event_append_only',
        ),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
