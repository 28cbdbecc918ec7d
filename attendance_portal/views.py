"""Entry pages: the place chooser, each school's home page per role, and each trust's home."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from reporting.selectors import school_headline, trust_school_headlines

from .badinput import bad_request
from .permissions import PERMISSIONS
from .selectors import user_is_parent, user_places


@login_required
def home(request: HttpRequest) -> HttpResponse:
    places = user_places(request.user)
    is_parent = user_is_parent(request.user)
    if len(places) == 1 and not is_parent:
        only = places[0]
        return redirect("school_home" if only.kind == "school" else "trust_home", only.slug)
    if not places and is_parent:
        return redirect("parent:home")
    return render(request, "attendance_portal/choose.html", {"place_list": places, "is_parent": is_parent})


SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")


@login_required
@require_GET
def switch(request: HttpRequest) -> HttpResponse:
    """The school switcher posts a place as 'school:slug' or 'trust:slug'."""
    kind, _, slug = request.GET.get("to", "").partition(":")
    if kind in ("school", "trust") and slug:
        if not SLUG.match(slug):
            return bad_request(request, "Choose a school or trust from the list.")
        return redirect("school_home" if kind == "school" else "trust_home", slug)
    if kind == "parent":
        return redirect("parent:home")
    return redirect("home")


def school_home(request: HttpRequest, school_slug: str) -> HttpResponse:
    roles = request.roles  # type: ignore[attr-defined]
    allowed = {action for action, who in PERMISSIONS.items() if roles & who}
    headline = school_headline(school=request.school) if "view_dashboard" in allowed or roles else None  # type: ignore[attr-defined]
    return render(
        request,
        "attendance_portal/school_home.html",
        {"allowed": allowed, "headline": headline, "role_names": sorted(r.label for r in roles)},
    )


def trust_home(request: HttpRequest, trust_slug: str) -> HttpResponse:
    trust = request.trust  # type: ignore[attr-defined]
    rows = trust_school_headlines(trust=trust)
    return render(request, "attendance_portal/trust_home.html", {"trust": trust, "rows": rows})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "login": reverse("login")})
