"""Attendance figures for one school and date range.

    python manage.py attendance_stats --school SLUG --from 2025-09-01 --to 2025-12-19 --json

Brings the school's summaries up to date first (an on-demand run), then reads them.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from reporting.selectors import enrolment_figures, school_figures
from reporting.services import calculation_run

from ._common import date_from_text, school_from_slug


class Command(BaseCommand):
    help = "Print attendance figures (DfE definitions) for a school and date range."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--school", required=True, help="school slug")
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        school = school_from_slug(options["school"])
        start = date_from_text(options["start"], "--from")
        end = date_from_text(options["end"], "--to")
        if end < start:
            raise CommandError(f"--to {end} is before --from {start}.")
        with scope(school=school):
            calculation_run(school=school)
            total = school_figures(school=school, start=start, end=end)
            pupils = enrolment_figures(school=school, start=start, end=end)
        figures = total.figures
        result = {
            "school": school.slug, "from": start.isoformat(), "to": end.isoformat(),
            "totals": {
                "enrolments": total.enrolments, "possible": figures.possible, "present": figures.present,
                "approved_educational_activity": figures.approved_educational_activity,
                "attendance": figures.attendance, "authorised": figures.authorised,
                "unauthorised": figures.unauthorised, "late_before_close": figures.late_before_close,
                "late_after_close": figures.late_after_close, "attendance_rate": figures.attendance_rate,
                "persistent_absence": total.persistent_absence, "severe_absence": total.severe_absence,
            },
            "pupils": [
                {"upn": p.upn, "possible": p.figures.possible, "attendance": p.figures.attendance,
                 "authorised": p.figures.authorised, "unauthorised": p.figures.unauthorised,
                 "attendance_rate": p.figures.attendance_rate, "persistent_absence": p.figures.persistent_absence,
                 "severe_absence": p.figures.severe_absence}
                for p in pupils
            ],
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self._table(result)

    def _table(self, result: dict[str, Any]) -> None:
        totals = result["totals"]
        self.stdout.write(f"{result['school']} {result['from']} to {result['to']}: "
                          f"{totals['enrolments']} enrolments, attendance {totals['attendance_rate']:.2f}%, "
                          f"persistent absence {totals['persistent_absence']}, "
                          f"severe absence {totals['severe_absence']}")
        for pupil in result["pupils"]:
            flags = " PA" * pupil["persistent_absence"] + " SA" * pupil["severe_absence"]
            self.stdout.write(f"  {pupil['upn']}  {pupil['attendance']}/{pupil['possible']}  "
                              f"{pupil['attendance_rate']:.2f}%{flags}")
