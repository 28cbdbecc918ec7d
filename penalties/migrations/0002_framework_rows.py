from django.db import migrations


def seed(apps, schema_editor):
    from penalties.framework import framework_rows_ensure

    framework_rows_ensure(apps.get_model("penalties", "NationalFramework"))


class Migration(migrations.Migration):
    dependencies = [("penalties", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
