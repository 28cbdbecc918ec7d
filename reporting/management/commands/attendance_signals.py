"""The signals the data shows for one school on one day.

    python manage.py attendance_signals --school SLUG --on 2025-12-19 --json

Lists the kinds of the command-line contract; the "at risk" early warning is stored with the other
signals for the queues and shown here with --at-risk.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django_scopes import scope

from registers.models import Enrolment
from reporting.models import SignalKind
from reporting.selectors import signals_as_of
from reporting.services import calculation_run

from ._common import date_from_text, school_from_slug


class Command(BaseCommand):
    help = "Print the attendance signals (persistent absence, penalty threshold, ...) for a school on a day."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--school", required=True, help="school slug")
        parser.add_argument("--on", required=True, help="the day, YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--at-risk", action="store_true", help="also list the at-risk early warning")

    def handle(self, *args: Any, **options: Any) -> None:
        school = school_from_slug(options["school"])
        on = date_from_text(options["on"], "--on")
        with scope(school=school):
            calculation_run(school=school)
            signals = [s for s in signals_as_of(school=school, on=on)
                       if options["at_risk"] or s.kind != SignalKind.AT_RISK]
            upns = dict(Enrolment.objects.filter(school=school, pk__in={s.enrolment_id for s in signals})
                        .values_list("pk", "pupil__upn"))
        rows = sorted(
            ({"upn": upns[s.enrolment_id], "kind": s.kind, "since": s.since.isoformat(), "sessions": s.sessions}
             for s in signals),
            key=lambda r: (r["upn"], r["kind"], r["since"]),
        )
        if options["json"]:
            self.stdout.write(json.dumps({"school": school.slug, "on": on.isoformat(), "signals": rows}))
            return
        self.stdout.write(f"{school.slug} on {on}: {len(rows)} signals")
        for row in rows:
            self.stdout.write(f"  {row['upn']}  {row['kind']}  since {row['since']}  ({row['sessions']} sessions)")
