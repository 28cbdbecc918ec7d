
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0002_summaries_per_year'),
    ]

    operations = [
        migrations.AddField(
            model_name='attendancesignal',
            name='fingerprint',
            field=models.CharField(blank=True, help_text='Changes exactly when the evidence does.', max_length=32),
        ),
    ]
