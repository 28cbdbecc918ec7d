"""Governor and trust dashboards, their CSV exports and the termly reports (views stay thin).

Governors see aggregates only: every figure passes through `reporting.disclosure`, and no page, CSV or PDF
here reads a pupil's name, UPN or id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from attendance_portal.http import SchoolRequest, TrustRequest
from attendance_portal.models import School
from attendance_portal.permissions import requires
from registers.calendar import SchoolCalendar, calendar_for
from registers.models import YEAR_GROUP_CHOICES

from . import disclosure
from .benchmarks import Benchmark, benchmarks_for
from .casework import casework_figures, casework_tables, trust_casework_table
from .charts import Chart, governor_charts
from .dashboard_tables import (
    NOTES,
    DisplayTable,
    GovernorTables,
    governor_tables,
    trust_cohorts_table,
    trust_schools_table,
    year_cohorts_table,
    year_label,
)
from .dashboards import SchoolDashboard, school_dashboard, trust_dashboard
from .effect import casework_effects, effect_table
from .forecasts import METHOD
from .models import GovernorReport
from .periods import KINDS, Period, PeriodError, period_choose, season_terms
from .reports import governor_report_request


@dataclass(frozen=True)
class GovernorPage:
    school: School
    period: Period
    dash: SchoolDashboard
    tables: GovernorTables
    charts: list[Chart]
    benchmarks: list[Benchmark]
    threshold: int
    today: dt.date | None = None  # the day the page is drawn as of
    calendar: SchoolCalendar | None = None

    @property
    def national(self) -> Benchmark | None:
        return next((b for b in self.benchmarks if b.level == "national"), None)


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise PeriodError(f"{text!r} is not a date: use the date picker or YYYY-MM-DD.") from None


def governor_page(*, school: School, kind: str, start: dt.date | None = None, end: dt.date | None = None,
                  on: dt.date | None = None, year_link: Any = None) -> GovernorPage:
    """Everything the governor page, its CSVs and the PDF show, suppressed."""
    today = on or timezone.localdate()
    calendar = calendar_for(school=school)
    period = period_choose(calendar=calendar, terms=season_terms(school=school), kind=kind, today=today,
                           start=start, end=end)
    threshold = disclosure.threshold_for(trust_id=school.trust_id)
    dash = school_dashboard(school=school, period=period, calendar=calendar, on=today)
    tables = governor_tables(dash, threshold=threshold, year_link=year_link)
    marks = benchmarks_for(schools=[school])[school.pk]
    national = next((b.figure.attendance_perc for b in marks if b.level == "national"), None)
    return GovernorPage(school, period, dash, tables, governor_charts(dash, tables, national=national), marks,
                        threshold, today, calendar)


# Every governors' page: aggregates for the roles with "view_dashboard".
shows_dashboard = requires("view_dashboard",
                           message="Your role in this school does not include the governors' dashboard.")


def _page_from_request(request: SchoolRequest, school: School) -> GovernorPage:
    kind = request.GET.get("period", "year_to_date")
    return governor_page(school=school, kind=kind, start=_date(request.GET.get("from")),
                         end=_date(request.GET.get("to")))


@shows_dashboard
def governor_dashboard(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    try:
        page = _page_from_request(request, school)
    except PeriodError as exc:
        return render(request, "reporting/governors.html", {"error": str(exc), "kinds": KINDS,
                                                            "chosen": request.GET}, status=400)
    return render(request, "reporting/governors.html", {
        "page": page, "kinds": KINDS, "chosen": request.GET, "notes": NOTES, "method": METHOD,
        "query": request.GET.urlencode(), "reports": GovernorReport.objects.filter(school=school)[:3],
        "casework": governor_casework(page),
    })


def governor_casework(page: GovernorPage) -> list[DisplayTable]:
    """The casework tables of the governors' page: counts from the casework apps' registered readers,
    composed here because reporting does not import them."""
    figures = casework_figures(school_ids=[page.school.pk], start=page.period.start, end=page.period.end)
    effects = casework_effects(school=page.school, start=page.period.start, end=page.period.end,
                               as_of=page.today or timezone.localdate(), calendar=page.calendar)
    return [*casework_tables(figures, school_id=page.school.pk, threshold=page.threshold),
            effect_table(effects, threshold=page.threshold)]


def _csv_response(table: DisplayTable, filename: str) -> HttpResponse:
    response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{table.key}.csv"'
    return response


@shows_dashboard
def governor_dashboard_csv(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    table = request.GET.get("table", "headline")
    try:
        page = _page_from_request(request, school)
    except PeriodError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    found = next((t for t in page.tables.all() if t.key == table), None)
    if found is None and table.startswith("casework_"):
        found = next((t for t in governor_casework(page) if t.key == table), None)
    if found is None:
        raise Http404("No such table")
    return _csv_response(found, f"{school.slug}-{page.period.start}-{page.period.end}")


@shows_dashboard
@require_http_methods(["GET", "POST"])
def governor_reports(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    error = ""
    if request.method == "POST":
        try:
            page_period = period_choose(calendar=calendar_for(school=school), terms=season_terms(school=school),
                                        kind=request.POST.get("period", ""), today=timezone.localdate(),
                                        start=_date(request.POST.get("from")), end=_date(request.POST.get("to")))
        except PeriodError as exc:
            error = str(exc)
        else:
            governor_report_request(school=school, period=page_period, user=request.user)
            return redirect("governors:reports", school.slug)
    reports = list(GovernorReport.objects.filter(school=school).defer("pdf"))
    return render(request, "reporting/reports.html", {"reports": reports, "kinds": KINDS, "error": error,
                                                      "busy": any(r.status in ("pending", "running") for r in reports)},
                  status=400 if error else 200)


@shows_dashboard
def governor_report_pdf(request: SchoolRequest, school_slug: str, pk: int) -> HttpResponse:
    school = request.school
    report = GovernorReport.objects.filter(school=school, pk=pk, status=GovernorReport.Status.DONE).first()
    if report is None or not report.pdf:
        raise Http404("No such report")
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="governor-report-{school.slug}-{report.period_from}.pdf"'
    return response


# The trust ------------------------------------------------------------------------------------------


def _trust_schools(request: TrustRequest) -> list[School]:
    return list(request.trust.schools.all())


def _trust_tables(request: TrustRequest) -> tuple[list[DisplayTable], Any]:
    trust = request.trust
    schools = _trust_schools(request)
    threshold = disclosure.threshold_for(trust_id=trust.pk)
    dash = trust_dashboard(schools=schools, on=timezone.localdate())
    marks = benchmarks_for(schools=schools)
    by_id = {s.pk: s for s in schools}
    schools_table = trust_schools_table(
        dash, threshold=threshold, benchmarks=marks,
        link=lambda pk: reverse("trust_dashboard:school", args=[trust.slug, by_id[pk].slug]))
    # Casework from the earliest school's year start to today, one statement per casework app for all schools.
    today = timezone.localdate()
    start = min((r.period_from for r in dash.rows if r.period_from), default=today)
    figures = casework_figures(school_ids=[s.pk for s in schools], start=start, end=today)
    casework = trust_casework_table(figures, schools=[(s.pk, s.name) for s in schools], threshold=threshold)
    return [schools_table, trust_cohorts_table(dash, threshold=threshold), casework], dash


SORTS = {"name": "School", "attendance": "Attendance", "unauthorised": "Unauthorised absence",
         "pa": "Persistent absence", "sa": "Severe absence", "pupils": "Pupils"}


def trust_dashboard_view(request: TrustRequest, trust_slug: str) -> HttpResponse:
    tables, dash = _trust_tables(request)
    sort = request.GET.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    schools = tables[0]
    rows = sorted(schools.rows[:-1], key=lambda r: r.sort[sort], reverse=request.GET.get("desc") == "1")
    return render(request, "reporting/trust.html", {
        "trust": request.trust, "schools": schools, "rows": rows, "total": schools.rows[-1],
        "cohorts": tables[1], "casework": tables[2], "sort": sort, "sorts": SORTS,
        "desc": request.GET.get("desc") == "1", "notes": NOTES, "dash": dash,
    })


def trust_dashboard_csv(request: TrustRequest, trust_slug: str) -> HttpResponse:
    table = request.GET.get("table", "schools")
    tables, _ = _trust_tables(request)
    found = next((t for t in tables if t.key == table), None)
    if found is None:
        raise Http404("No such table")
    return _csv_response(found, f"{trust_slug}-{timezone.localdate()}")


def _trust_school(request: TrustRequest, slug: str) -> School:
    school = next((s for s in _trust_schools(request) if s.slug == slug), None)
    if school is None:
        raise Http404("No such school in this trust")
    return school


def trust_school(request: TrustRequest, trust_slug: str, school: str) -> HttpResponse:
    found = _trust_school(request, school)
    try:
        page = governor_page(school=found, kind="year_to_date", year_link=lambda yg: reverse(
            "trust_dashboard:year_group", args=[trust_slug, found.slug, yg]))
    except PeriodError as exc:
        return render(request, "reporting/trust_school.html", {"trust": request.trust, "school": found,
                                                               "error": str(exc)})
    return render(request, "reporting/trust_school.html", {"trust": request.trust, "page": page,
                                                           "school": found, "notes": NOTES, "method": METHOD,
                                                           "casework": governor_casework(page)})


def trust_year_group(request: TrustRequest, trust_slug: str, school: str, year_group: str) -> HttpResponse:
    found = _trust_school(request, school)
    if year_group not in dict(YEAR_GROUP_CHOICES):
        raise Http404("No such year group")
    context: dict[str, Any] = {"trust": request.trust, "school": found, "year_group": year_label(year_group)}
    try:
        page = governor_page(school=found, kind="year_to_date")
    except PeriodError as exc:
        return render(request, "reporting/trust_year_group.html", {**context, "error": str(exc)})
    if year_group in page.dash.year_groups:
        context["table"] = year_cohorts_table(page.dash, page.tables, year_group=year_group, threshold=page.threshold)
    return render(request, "reporting/trust_year_group.html", {**context, "page": page, "notes": NOTES})
