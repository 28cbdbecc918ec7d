"""Termly governor reports: a PDF of the governors' dashboard for one period, made by a task.

Requesting writes the row (pending) and enqueues the task when the transaction commits; the task claims
the row by compare-and-set, so a task delivered twice makes the PDF once. A daily beat task requests the
report of every term that ended the day before and re-sends requests a lost task left pending.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_scopes import scopes_disabled

from attendance_portal.models import School, User
from attendance_portal.queueing import task_send

from .models import GovernorReport
from .periods import Period, season_terms

STALE_PENDING = dt.timedelta(minutes=15)
logger = logging.getLogger(__name__)


def governor_report_request(*, school: School, period: Period, user: User | None) -> GovernorReport:
    """The report of `period`, made again if it exists (figures change as marks are amended)."""
    title = f"Attendance report for governors: {school.name}, {period.label}"
    report, _ = GovernorReport.objects.update_or_create(
        school=school, period_from=period.start, period_to=period.end,
        defaults={"title": title, "status": GovernorReport.Status.PENDING, "progress": 0, "error": "",
                  "requested_by": user, "finished_at": None, "requested_at": timezone.now()})
    transaction.on_commit(lambda: _enqueue(report))
    return report


def _enqueue(report: GovernorReport) -> None:
    """Send the task; if the broker is down the row stays pending and the daily sweep sends it again."""
    from .tasks import governor_report_build

    task_send(governor_report_build, school_id=report.school_id, report_id=report.pk)


def _progress(report: GovernorReport, percent: int) -> None:
    GovernorReport.objects.filter(school=report.school, pk=report.pk).update(progress=percent)


def governor_report_build(*, report_id: int, school: School) -> bool:
    """Claim the report and make its PDF; False when another worker has it or it is made."""
    claimed = GovernorReport.objects.filter(school=school, pk=report_id, status=GovernorReport.Status.PENDING) \
        .update(status=GovernorReport.Status.RUNNING, progress=5)
    if not claimed:
        return False
    report = GovernorReport.objects.get(school=school, pk=report_id)
    try:
        pdf = governor_report_pdf(report=report)
    except Exception as exc:
        GovernorReport.objects.filter(school=school, pk=report.pk).update(
            status=GovernorReport.Status.FAILED, error=str(exc)[:500], finished_at=timezone.now())
        raise
    GovernorReport.objects.filter(school=school, pk=report.pk).update(
        pdf=pdf, status=GovernorReport.Status.DONE, progress=100, finished_at=timezone.now())
    return True


def governor_report_html(*, report: GovernorReport) -> str:
    """The report as HTML, which the PDF prints: the governors' page for the report's period."""
    from .dashboard_tables import NOTES
    from .dashboard_views import governor_casework, governor_page
    from .forecasts import METHOD

    page = governor_page(school=report.school, kind="custom", start=report.period_from, end=report.period_to,
                         on=report.period_to)
    _progress(report, 40)
    return render_to_string("reporting/report_pdf.html", {"page": page, "report": report, "notes": NOTES,
                                                          "method": METHOD, "made": timezone.now(),
                                                          "casework": governor_casework(page)})


def governor_report_pdf(*, report: GovernorReport) -> bytes:
    from weasyprint import HTML

    html = governor_report_html(report=report)
    _progress(report, 60)
    return HTML(string=html).write_pdf()


def governor_reports_daily(*, today: dt.date) -> list[int]:
    """Requests the report of every school term that ended yesterday (once), and re-sends stale requests."""
    made = []
    with scopes_disabled():
        for school in School.objects.all():
            ended = [t for t in season_terms(school=school) if t.end == today - dt.timedelta(days=1)]
            for term in ended:
                if GovernorReport.objects.filter(school=school, period_from=term.start, period_to=term.end).exists():
                    continue
                from registers.calendar import calendar_for

                from .periods import period_choose

                period = period_choose(calendar=calendar_for(school=school), terms=[term], kind="custom",
                                       today=term.end, start=term.start, end=term.end)
                period = Period(period.kind, term.label, period.start, period.end, period.year, period.last_start,
                                period.last_end, period.last_year)
                made.append(governor_report_request(school=school, period=period, user=None).pk)
        stale = GovernorReport.objects.filter(status=GovernorReport.Status.PENDING,
                                              requested_at__lt=timezone.now() - STALE_PENDING)
        for report in stale:
            _enqueue(report)
    return made
