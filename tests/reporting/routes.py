"""Reporting routes (governors' dashboard, reports, the trust dashboard) for the cross-school URLconf walk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from attendance_portal.models import School
from reporting.models import GovernorReport
from tests.routes import Route


def _report(school: School) -> dict[str, Any]:
    report = GovernorReport.objects.create(school=school, period_from=dt.date(2025, 9, 1), title="Report",
                                           period_to=dt.date(2025, 12, 19), status="done", pdf=b"%PDF-1.7")
    return {"pk": report.pk}


ROUTES: list[Route] = [
    Route("governors:dashboard"),
    Route("governors:csv"),
    Route("governors:reports"),
    Route("governors:report_pdf", make=_report),
    Route("reporting:census"),
    Route("reporting:census_csv"),
    Route("trust_dashboard:index", kind="trust"),
    Route("trust_dashboard:csv", kind="trust", extra={}),
    Route("trust_dashboard:school", kind="trust", extra={"school": "alder"}),
    Route("trust_dashboard:year_group", kind="trust", extra={"school": "alder", "year_group": "3"}),
]
