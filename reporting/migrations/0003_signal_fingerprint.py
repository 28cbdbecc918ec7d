from django.db import migrations, models


class Migration(migrations.Migration):
    """Signals carry a fingerprint of what their evidence is made from, so a run writes a signal only when
    it changes. Stored signals start with none; the next run writes each of them once."""

    dependencies = [
        ("reporting", "0002_summaries_per_year"),
    ]

    operations = [
        migrations.AddField(
            model_name="attendancesignal",
            name="fingerprint",
            field=models.CharField(blank=True, help_text="Changes exactly when the evidence does.", max_length=32),
        ),
    ]
