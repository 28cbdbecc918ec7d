"""Loads DfE's published attendance file (national, regional and LA figures) for benchmarks.

    python manage.py import_dfe_attendance ../shared/data/dfe/attendance-ytd-2025-26.csv

All or nothing: a malformed file is rejected with the line named and nothing is written. A later file of
the same period replaces the earlier figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from reporting.benchmarks import ImportFileError, figures_import


class Command(BaseCommand):
    help = "Import DfE's published attendance CSV (Pupil attendance in schools) for benchmarks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="DfE's CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            loaded = figures_import(path=path)
        except ImportFileError as exc:
            raise CommandError(f"{path.name}: {exc}. Nothing was imported.") from None
        self.stdout.write(f"Imported {loaded} rows of DfE figures from {path.name}.")
