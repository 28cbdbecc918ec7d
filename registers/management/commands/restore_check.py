"""python manage.py restore_check --against RESTORED_DATABASE_URL

Compares every school's register (`export_marks`) and amendment trail in this database with the restored
copy at RESTORED_DATABASE_URL; exits 1 naming each school that differs. `--print` writes this database's
digests instead (the other side of the comparison runs that in a process of its own).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from registers.backup import register_digests


class Command(BaseCommand):
    help = "Check that a restored database holds the same registers and amendment trails as this one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--against", metavar="DATABASE_URL", help="the restored database")
        parser.add_argument("--print", action="store_true", help="print this database's digests")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print"]:
            for digest in register_digests():
                self.stdout.write(digest.line())
            return
        if not options["against"]:
            raise CommandError("Give --against DATABASE_URL (the restored copy) or --print.")
        here = [d.line() for d in register_digests()]
        env = {**os.environ, "DATABASE_URL": options["against"], "DATABASE_OWNER_URL": ""}
        other = subprocess.run([sys.executable, "manage.py", "restore_check", "--print"],
                               cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=False)
        if other.returncode != 0:
            raise CommandError(f"could not read the restored database: {other.stderr.strip()[-500:]}")
        there = other.stdout.splitlines()
        differ = sorted(set(here) ^ set(there))
        schools = {line.split()[0] for line in differ}
        marks = sum(int(line.split()[1].split("=")[1]) for line in here)
        events = sum(int(line.split()[3].split("=")[1]) for line in here)
        if schools:
            for slug in sorted(schools):
                self.stdout.write(f"DIFFERENT: {slug}")
            raise CommandError(f"{len(schools)} of {len(here)} schools differ between this database and the restore.")
        self.stdout.write(f"restore identical: {len(here)} schools, {marks:,} marks, {events:,} amendment-trail "
                          "events (export_marks and audit trail compared school by school)")
