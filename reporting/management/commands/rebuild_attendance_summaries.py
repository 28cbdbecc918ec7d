"""Rebuild the attendance summaries and signals from the marks, for one school or every school.

    python manage.py rebuild_attendance_summaries --school SLUG
    python manage.py rebuild_attendance_summaries --all

The result is identical to what the nightly incremental runs produce; unchanged rows are not written.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from attendance_portal.models import School
from reporting.services import calculation_run

from ._common import date_from_text, school_from_slug


class Command(BaseCommand):
    help = "Rebuild attendance summaries and signals from the marks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--school", help="school slug")
        parser.add_argument("--all", action="store_true", help="every school")
        parser.add_argument("--on", help="evaluate signals as of this day (default today), YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["school"]) == bool(options["all"]):
            raise CommandError("Give either --school SLUG or --all.")
        on = date_from_text(options["on"], "--on") if options["on"] else None
        schools = list(School.objects.order_by("pk")) if options["all"] else [school_from_slug(options["school"])]
        for school in schools:
            with scope(school=school):
                run = calculation_run(school=school, on=on, full=True)
            self.stdout.write(f"{school.slug}: {run.status}, {run.rows_changed} rows changed")
