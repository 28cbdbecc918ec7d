"""The marks' own indexes on `school_id` and on `enrolment_id` go: the (school, date, session) and unique
(school, pupil, date, session) indexes lead with the school, and (enrolment, date) with the enrolment, so every
look-up either served is served as well, and each mark saved no longer adds an entry to two more indexes of the
largest table (about 15 MB each per half a million marks).

Only the indexes are dropped. Django's own AlterField would also drop and re-add both foreign keys, checking
every mark again under a lock that stops registers being saved; the keys are left as they are.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "registers_mark_school_id_05a187d8": "school_id",
    "registers_mark_enrolment_id_91bd1997": "enrolment_id",
}


class Migration(migrations.Migration):

    dependencies = [
        ("attendance_portal", "0002_analyze_as_owner"),
        ("registers", "0008_account_is_guardian"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="mark",
                    name="enrolment",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="marks", to="registers.enrolment"),
                ),
                migrations.AlterField(
                    model_name="mark",
                    name="school",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="attendance_portal.school"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f"DROP INDEX IF EXISTS {name}" for name in INDEXES],
                    [f"CREATE INDEX IF NOT EXISTS {name} ON registers_mark ({column})"
                     for name, column in INDEXES.items()],
                ),
            ],
        ),
    ]
