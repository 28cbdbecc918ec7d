"""python manage.py load_school DIR — import a school from school.json, pupils.csv and marks.csv.

All or nothing: any problem in any file leaves the database untouched, lists every problem (up to
200) with its file and line on stderr, and exits with a non-zero status.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from attendance_portal.models import User
from registers.imports import FILE_NAMES, ImportFiles, ImportRejected, school_import


class Command(BaseCommand):
    help = "Import a school (calendar, register times, pupils, admissions, marks) from a directory of files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help=f"a directory holding {', '.join(FILE_NAMES)}")
        parser.add_argument("--by", metavar="USERNAME",
                            help="the person recorded against amendments (default: 'system')")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"])
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        by = None
        if options["by"]:
            by = User.objects.filter(username=options["by"]).first()
            if by is None:
                raise CommandError(f"No user called '{options['by']}'.")
        started = time.perf_counter()
        try:
            # The engine opens the school's scope itself once it knows (or has created) the school.
            # Run by platform staff on the server: the whole file, sensitive characteristics included.
            summary = school_import(files=ImportFiles.from_directory(directory), by=by, write_sensitive=True)
        except ImportRejected as exc:
            for line in exc.lines():
                self.stderr.write(line)
            raise CommandError(f"Import rejected: {exc.total} problem(s); nothing was written.") from None
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Imported {summary.school.name} ({summary.school.slug}) in {elapsed:.1f} s: "
                          f"{summary.describe()}.")
