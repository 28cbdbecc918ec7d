"""Entry pages: the place chooser, each school's home page per role, and each trust's home."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from reporting.selectors import school_headline, trust_school_headlines
from staff.pages import school_home_staff

from .badinput import bad_request
from .http import SchoolRequest, SignedInRequest, TrustRequest
from .permissions import PERMISSIONS, requires
from .selectors import user_is_parent, user_places


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    places = user_places(request.user)
    is_parent = user_is_parent(request.user)
    if len(places) == 1 and not is_parent:
        only = places[0]
        return redirect(PLACE_HOME[only.kind], only.slug)
    if not places and is_parent:
        return redirect("parent:home")
    is_platform_admin = request.user.is_active and request.user.is_staff
    if not places and is_platform_admin:
        return redirect("platform_admin:index")
    return render(request, "attendance_portal/choose.html", {"place_list": places, "is_parent": is_parent,
                                                            "is_platform_admin": is_platform_admin})


SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")
PLACE_HOME = {"school": "school_home", "trust": "trust_home", "la": "la:inbox"}  # where each kind of place opens


@login_required
@require_GET
def switch(request: HttpRequest) -> HttpResponse:
    """The school switcher posts a place as 'school:slug', 'trust:slug' or 'la:code'."""
    kind, _, slug = request.GET.get("to", "").partition(":")
    if kind in PLACE_HOME and slug:
        if not SLUG.match(slug):
            return bad_request(request, "Choose a school or trust from the list.")
        return redirect(PLACE_HOME[kind], slug)
    if kind == "parent":
        return redirect("parent:home")
    return redirect("home")


@requires("view_school")  # every member: the page shows each role only its own way in
def school_home(request: SchoolRequest, school_slug: str) -> HttpResponse:
    roles = request.roles
    allowed = {action for action, who in PERMISSIONS.items() if roles & who}
    # School-wide figures are dashboard data: only roles with "view_dashboard" see them here.
    headline = school_headline(school=request.school) if "view_dashboard" in allowed else None
    return render(
        request,
        "attendance_portal/school_home.html",
        {"allowed": allowed, "headline": headline, "role_names": sorted(r.label for r in roles),
         **school_home_staff(request)},
    )


def trust_home(request: TrustRequest, trust_slug: str) -> HttpResponse:
    trust = request.trust
    rows = trust_school_headlines(trust=trust)
    return render(request, "attendance_portal/trust_home.html", {"trust": trust, "rows": rows})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page; the icon is a static file."""
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "login": reverse("login")})
