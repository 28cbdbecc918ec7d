import django.db.models.deletion
from django.db import migrations, models

import reporting.models


class Migration(migrations.Migration):
    """Summaries become one row per enrolment and academic year, the year's register as bit strings.
    The table is derived: the next run of each school finds a new calendar key and rebuilds it."""

    dependencies = [
        ("reporting", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="AttendanceSummary"),
        migrations.CreateModel(
            name="AttendanceSummary",
            fields=[
                ("pk", models.CompositePrimaryKey("school", "enrolment", "start", blank=True, editable=False,
                                                  primary_key=True, serialize=False)),
                ("start", models.DateField(help_text="First day of the academic year.")),
                ("end", models.DateField(help_text="Last day of the academic year.")),
                ("on_time", reporting.models.BitStringField(help_text="/ \\")),
                ("late_before_close", reporting.models.BitStringField(help_text="L")),
                ("approved_educational_activity", reporting.models.BitStringField(help_text="K V P W B J")),
                ("illness", reporting.models.BitStringField(help_text="I")),
                ("authorised_other", reporting.models.BitStringField(help_text="Authorised codes other than I")),
                ("reason_not_established", reporting.models.BitStringField(help_text="N")),
                ("unauthorised_g", reporting.models.BitStringField(help_text="G")),
                ("unauthorised_o", reporting.models.BitStringField(help_text="O")),
                ("late_after_close", reporting.models.BitStringField(help_text="U")),
                ("not_possible", reporting.models.BitStringField(help_text="D X Q Y Y1–Y7 Z #")),
                ("minutes_late", models.JSONField(default=dict, help_text="Minutes late by session slot.")),
                ("enrolment", models.ForeignKey(db_constraint=False, db_index=False,
                                                on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                                to="registers.enrolment")),
                ("school", models.ForeignKey(db_constraint=False, db_index=False,
                                             on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                             to="attendance_portal.school")),
            ],
        ),
        migrations.AddField(
            model_name="calculationrun",
            name="signals_key",
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
