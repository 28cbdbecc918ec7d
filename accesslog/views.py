"""The headteacher's page of the access log: who opened which pupil's personal data, and every export."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from attendance_portal.permissions import can

from .forms import AccessLogFilterForm
from .selectors import access_log

PER_PAGE = 50


@require_GET
def access_log_page(request: HttpRequest, school_slug: str) -> HttpResponse:
    school = request.school  # type: ignore[attr-defined]
    if not can(request.user, "view_access_log", school):  # type: ignore[arg-type]
        raise PermissionDenied
    form = AccessLogFilterForm(request.GET or None, school=school)
    if form.is_bound and not form.is_valid():
        return render(request, "accesslog/index.html", {"form": form, "page": None, "query": ""}, status=400)
    page = Paginator(access_log(school=school, **form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "accesslog/index.html", {"form": form, "page": page, "query": query.urlencode()})
