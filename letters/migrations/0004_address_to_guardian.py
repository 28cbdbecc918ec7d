"""The parent's postal address moves to the guardian record (registers.Guardian.address and .postcode), where
the admission pages keep it with the other contact details; letters and the evidence pack both read it there."""

import re

from django.db import migrations

POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


def to_guardian(apps, schema_editor):
    details = apps.get_model("letters", "RecipientDetails")
    guardian_model = apps.get_model("registers", "Guardian")
    for row in details.objects.exclude(address="").iterator():
        lines = [line.strip() for line in row.address.splitlines() if line.strip()]
        found = POSTCODE.match(re.sub(r"\s+", "", lines[-1]).upper()) if lines else None
        postcode = f"{found[1]} {found[2]}" if found else ""
        street = lines[:-1] if found else lines
        guardian_model.objects.filter(pk=row.guardian_id, address="").update(
            address="\n".join(street), postcode=postcode)


def to_details(apps, schema_editor):
    details = apps.get_model("letters", "RecipientDetails")
    guardian_model = apps.get_model("registers", "Guardian")
    for row in details.objects.iterator():
        guardian = guardian_model.objects.get(pk=row.guardian_id)
        details.objects.filter(pk=row.pk).update(address="\n".join(
            line for line in [*guardian.address.splitlines(), guardian.postcode] if line.strip()))


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0003_enqueued_at"),
        ("registers", "0007_guardian_address"),
    ]

    operations = [
        migrations.RunPython(to_guardian, to_details),
        migrations.RemoveField(model_name="recipientdetails", name="address"),
    ]
