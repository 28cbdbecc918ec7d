"""Routes of the school set-up pages and the import upload, each with objects made in the given school."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from attendance_portal.models import School
from registers.models import AcademicYear, Closure, ImportBatch, Term
from tests.routes import Route

_n = itertools.count(1)


def _year(school: School) -> AcademicYear:
    year, _ = AcademicYear.objects.get_or_create(
        school=school, start=dt.date(2025, 9, 1), defaults={"name": "2025/26", "end": dt.date(2026, 8, 31)})
    return year


def _term(school: School) -> dict[str, Any]:
    term = Term.objects.create(school=school, academic_year=_year(school), name=f"Autumn {next(_n)}",
                               season="autumn", start=dt.date(2025, 9, 3), end=dt.date(2025, 9, 5))
    return {"term_id": term.pk}


def _closure(school: School) -> dict[str, Any]:
    day = timezone.localdate() + dt.timedelta(days=30 + next(_n))
    closure = Closure.objects.create(school=school, date=day, session="BOTH", reason="INSET day")
    return {"closure_id": closure.pk}


def _batch(school: School) -> dict[str, Any]:
    return {"batch_id": ImportBatch.objects.create(school=school).pk}


ROUTES = [
    Route("registers:setup"),
    Route("registers:terms"),
    Route("registers:year_create"),
    Route("registers:year_edit", make=lambda s: {"year_id": _year(s).pk}),
    Route("registers:term_create", make=lambda s: {"year_id": _year(s).pk}),
    Route("registers:term_edit", make=_term),
    Route("registers:closures"),
    Route("registers:closure_delete", method="post", make=_closure),
    Route("registers:session_times"),
    Route("registers:import"),
    Route("registers:import_status", make=_batch),
]
