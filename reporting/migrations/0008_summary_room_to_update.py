"""Room on each page of the attendance summaries for their rows' next versions.

Every register saved updates one summary row per pupil (about 1 KB each: a bit string per category of code
for the year). With pages packed full, the new version of a row seldom fits on its own page, so most updates
moved the row to another page and added an entry to the primary key's index: the table grew to two and a half
times its live size over one morning's marking, and each save wrote index and page changes it need not have.
Pages filled to 70 % leave room for two more versions of a row, so the update stays on its page (a "HOT"
update, which touches no index), and the dead versions are cleared by the next visit to the page. Existing
pages keep their packing until the table is next rewritten (VACUUM FULL); new pages, and every page written
by a fresh load, get the room.
"""

from django.db import migrations

FILLFACTOR = 70


class Migration(migrations.Migration):

    dependencies = [
        ("reporting", "0007_disclosure_help_text"),
    ]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE reporting_attendancesummary SET (fillfactor = {FILLFACTOR})",
            "ALTER TABLE reporting_attendancesummary RESET (fillfactor)",
        ),
    ]
