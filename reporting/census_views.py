"""The census attendance return as a download for the headteacher: the validation queries first, then the file.

The page lists every check the return fails (zero possible sessions, codes not valid in the period) for the
chosen term; the CSV is offered below them, so nobody downloads it without having seen them. The same
`reporting.census` code makes the management command's file.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from attendance_portal.http import SchoolRequest
from attendance_portal.permissions import requires

from . import disclosure
from .census import TERMS, CensusReturn, census_csv_rows, census_periods, census_return

exports_census = requires("export_census", message="Only the headteacher downloads the census attendance return.")


class CensusChoiceError(ValueError):
    """A term or year that cannot be returned; the message says why."""


def _choice(request: SchoolRequest) -> tuple[str, int]:
    term = request.GET.get("term", "")
    if term not in TERMS:
        raise CensusChoiceError("Choose the autumn, spring or summer term.")
    text = request.GET.get("year", "")
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise CensusChoiceError("Give the academic year by its first year, for example 2025 for 2025/26.")
    return term, int(text)


def _default_year(today: dt.date) -> int:
    return today.year if today.month >= 9 else today.year - 1


@exports_census
def census_page(request: SchoolRequest, school_slug: str) -> HttpResponse:
    context: dict[str, object] = {"terms": TERMS, "year": _default_year(timezone.localdate()), "chosen": request.GET}
    if "term" not in request.GET:
        return render(request, "reporting/census.html", context)
    try:
        term, year = _choice(request)
    except CensusChoiceError as exc:
        return render(request, "reporting/census.html", {**context, "error": str(exc)}, status=400)
    result: CensusReturn = census_return(school=request.school, term=term, year=year)
    return render(request, "reporting/census.html", {
        **context, "year": year, "term": term, "result": result, "parts": census_periods(term=term, year=year),
        "query": request.GET.urlencode()})


@exports_census
def census_csv(request: SchoolRequest, school_slug: str) -> HttpResponse:
    try:
        term, year = _choice(request)
    except CensusChoiceError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    header, rows = census_csv_rows(census_return(school=request.school, term=term, year=year))
    response = HttpResponse(disclosure.csv_document(header, rows), content_type="text/csv; charset=utf-8")
    name = f"census-attendance-{request.school.slug}-{term}-{year}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
