"""python manage.py export_marks --school SLUG --from YYYY-MM-DD --to YYYY-MM-DD > marks.csv"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from accesslog.models import AccessKind
from accesslog.services import access_record
from attendance_portal.models import School
from registers.exports import marks_export_csv

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(value: str, flag: str) -> dt.date:
    try:
        if not _DATE.match(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{flag} must be a date written YYYY-MM-DD, not '{value}'.") from None


class Command(BaseCommand):
    help = "Write a school's marks between two dates to stdout as marks.csv (the load_school format)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--school", required=True, metavar="SLUG")
        parser.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _date(options["start"], "--from")
        end = _date(options["end"], "--to")
        if end < start:
            raise CommandError(f"--to ({end}) is before --from ({start}).")
        school = School.objects.filter(slug=options["school"]).first()
        if school is None:
            raise CommandError(f"No school with the slug '{options['school']}'.")
        with scope(school=school):
            access_record(school=school, by=None, by_name="Server command export_marks", kind=AccessKind.EXPORT,
                          what=f"Marks from {start:%d %b %Y} to {end:%d %b %Y} (marks.csv)",
                          path=f"manage.py export_marks --school {school.slug}")
            marks_export_csv(school=school, start=start, end=end, out=self.stdout)
