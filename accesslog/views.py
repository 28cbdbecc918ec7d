"""The headteacher's page of the access log: who opened which pupil's personal data, and every export."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from attendance_portal.http import SchoolRequest
from attendance_portal.permissions import requires

from .forms import AccessLogFilterForm
from .selectors import access_log

PER_PAGE = 50


@requires("view_access_log")
@require_GET
def access_log_page(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    form = AccessLogFilterForm(request.GET or None, school=school)
    if form.is_bound and not form.is_valid():
        return render(request, "accesslog/index.html", {"form": form, "page": None, "query": ""}, status=400)
    page = Paginator(access_log(school=school, **form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "accesslog/index.html", {"form": form, "page": page, "query": query.urlencode()})
