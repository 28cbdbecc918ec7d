"""The census attendance return for one school and term.

    python manage.py census_attendance --school SLUG --term autumn|spring|summer --year 2025 --csv

The validation queries are printed (to standard error) before the file; the file goes to standard output.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from reporting.census import TERMS, census_csv_rows, census_return
from reporting.disclosure import csv_document

from ._common import school_from_slug


class Command(BaseCommand):
    help = "Per enrolment possible sessions and sessions by code for a census period, with validation queries."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--school", required=True)
        parser.add_argument("--term", required=True, help="autumn, spring or summer")
        parser.add_argument("--year", required=True, type=int, help="first calendar year of the academic year")
        parser.add_argument("--csv", action="store_true", help="write the return as CSV")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["term"] not in TERMS:
            raise CommandError(f"--term {options['term']!r}: choose autumn, spring or summer.")
        if not 2000 <= options["year"] <= 2100:
            raise CommandError(f"--year {options['year']}: give the academic year's first year, e.g. 2025.")
        school = school_from_slug(options["school"])
        with scope(school=school):
            result = census_return(school=school, term=options["term"], year=options["year"])
        err = self.stderr if options.get("stderr") else sys.stderr
        err.write(f"Validation: {len(result.problems)} to check\n")
        for problem in result.problems:
            err.write(f"  {problem}\n")
        header, rows = census_csv_rows(result)
        if options["csv"]:
            self.stdout.write(csv_document(header, rows), ending="")
        else:
            self.stdout.write(f"{len(rows)} enrolments in the return.")
