"""Load the demo trust, its four schools, their pupils and the year's marks so far."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from attendance_portal.demo import DEMO_PASSWORD, demo_exists, seed_demo


class Command(BaseCommand):
    help = "Create the demo trust and schools (deterministic for a given --seed and --today)."

    def _calculate(self, day: dt.date) -> None:
        """Build the attendance summaries and signals now, so home pages show figures straight away."""
        from django_scopes import scope

        from attendance_portal.demo import TRUST_SLUG
        from attendance_portal.models import School
        from interventions.demo import demo_cases
        from reporting.services import calculation_run

        for school in School.objects.filter(trust__slug=TRUST_SLUG):
            with scope(school=school):
                calculation_run(school=school, full=True, on=day - dt.timedelta(days=1))
        demo_cases(schools=list(School.objects.filter(trust__slug=TRUST_SLUG)), on=day - dt.timedelta(days=1))
        from penalties.demo import demo_penalties

        demo_penalties(schools=list(School.objects.filter(trust__slug=TRUST_SLUG)), on=day - dt.timedelta(days=1))

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                            help="Pretend today is this date (YYYY-MM-DD); marks run to the day before.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the demo data exists.")

    def handle(self, *args: Any, seed: int, today: dt.date | None, if_empty: bool, **options: Any) -> None:
        if demo_exists():
            if if_empty:
                self.stdout.write("Demo data already loaded; leaving it as it is.")
                return
            raise CommandError("Demo data already exists (trust 'riverbend'). Use a fresh database.")
        started = time.monotonic()
        day = today or timezone.localdate()
        summary = seed_demo(seed=seed, today=day)
        self._calculate(day)
        self.stdout.write(f"{'School':<34} {'Pupils':>7} {'Marks':>8} {'Weak attenders':>15} {'Open N':>7}")
        for name, pupils, marks, weak, open_n in summary.rows:
            self.stdout.write(f"{name:<34} {pupils:>7} {marks:>8} {weak:>15} {open_n:>7}")
        total_pupils = sum(r[1] for r in summary.rows)
        total_marks = sum(r[2] for r in summary.rows)
        self.stdout.write(f"{'Total':<34} {total_pupils:>7} {total_marks:>8}")
        self.stdout.write(self.style.SUCCESS(
            f"Demo data loaded in {time.monotonic() - started:.0f}s. Every demo password is {DEMO_PASSWORD!r}."))
