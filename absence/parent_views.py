"""The parent portal. A parent is not a school member: every read is limited to their own children
through the guardian link, so a guessed child id is a 404 exactly like one that does not exist.

The middleware opens the scope of the schools where the account is linked to a guardian (so the
database's row-level security sees no other school either); within it the guardian link is the filter
(`absence.selectors.parent_children`), and everything about one child runs in `scope(school=child.school)`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_scopes import scope

from attendance_portal.http import SignedInRequest
from registers.models import Pupil
from registers.selectors import policy_for

from . import selectors, services
from .forms import AbsenceReportForm, LeaveRequestForm
from .models import AbsenceReport, LeaveRequest, MedicalEvidenceRequest

# Fixed-window limits per parent and action, counting submissions the school accepted: generous for a
# family, useless for a script. Refused submissions (a typo, a closed day) have a much higher limit of
# their own, so correcting a form never locks a parent out.
RATE_LIMITS = {"report": (10, 600), "leave": (5, 600)}
REFUSED_LIMIT = 50


def _rate_key(request: HttpRequest, action: str, outcome: str) -> str:
    window = RATE_LIMITS[action][1]
    return f"absence:rl:{action}:{outcome}:{request.user.pk}:{int(timezone.now().timestamp()) // window}"


def rate_limited(request: HttpRequest, action: str) -> bool:
    limit = RATE_LIMITS[action][0]
    return (cache.get(_rate_key(request, action, "accepted"), 0) >= limit
            or cache.get(_rate_key(request, action, "refused"), 0) >= REFUSED_LIMIT)


def rate_count(request: HttpRequest, action: str, *, accepted: bool) -> None:
    key = _rate_key(request, action, "accepted" if accepted else "refused")
    if cache.add(key, 1, timeout=RATE_LIMITS[action][1]):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=RATE_LIMITS[action][1])


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "parent/too_many.html", status=429)


def children_of(user: Any) -> list[Pupil]:
    return selectors.parent_children(user=user)


@login_required
@require_GET
def parent_home(request: HttpRequest) -> HttpResponse:
    children = children_of(request.user)
    cards = []
    for child in children:
        with scope(school=child.school):
            figures = selectors.attendance_figures(school=child.school, pupil_ids=[child.pk]).get(
                child.pk, selectors.Figures())
            open_reports = AbsenceReport.objects.filter(
                school=child.school, pupil=child, status=AbsenceReport.Status.PENDING).count()
        cards.append((child, figures, open_reports))
    return render(request, "parent/home.html", {"children": children, "cards": cards})


@login_required
@require_GET
def child(request: SignedInRequest, pupil_id: int) -> HttpResponse:
    found = selectors.parent_child_get(user=request.user, pupil_id=pupil_id)
    school = found.school
    with scope(school=school):
        context = {
            "child": found,
            "figures": selectors.attendance_figures(school=school, pupil_ids=[found.pk]).get(
                found.pk, selectors.Figures()),
            "reports": list(AbsenceReport.objects.filter(school=school, pupil=found)[:30]),
            "leave": list(LeaveRequest.objects.filter(school=school, pupil=found)[:30]),
            "medical": list(MedicalEvidenceRequest.objects.filter(school=school, pupil=found)[:10]),
        }
        return render(request, "parent/child.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: SignedInRequest) -> HttpResponse:
    children = children_of(request.user)
    if not children:
        raise Http404("No children linked")
    today = timezone.localdate()
    duplicate = None
    if request.method == "POST":
        if rate_limited(request, "report"):
            return _too_many(request)
        form = AbsenceReportForm(request.POST, children=children)
        if form.is_valid():
            pupil = form.cleaned_data["child"]
            update = request.POST.get("update", "")
            with scope(school=pupil.school):
                try:
                    report = services.absence_report_create(
                        pupil=pupil, by=request.user,
                        guardian=selectors.parent_guardian_for(user=request.user, pupil=pupil),
                        first_date=form.cleaned_data["first_date"], last_date=form.cleaned_data["last_date"],
                        sessions=form.cleaned_data["sessions"], category=form.cleaned_data["category"],
                        message=form.cleaned_data["message"], update=int(update) if update.isdigit() else None,
                    )
                except services.DuplicateReport as exc:
                    form.add_error(None, exc)
                    duplicate = exc.existing
                except services.AbsenceError as exc:
                    form.add_error(None, exc)
                else:
                    rate_count(request, "report", accepted=True)
                    if update:
                        messages.success(request, f"Report {report.reference} updated.")
                    return redirect("parent:report_detail", report.pk)
        rate_count(request, "report", accepted=False)
    else:
        initial = {"first_date": today, "last_date": today, **_child_initial(request, children)}
        form = AbsenceReportForm(initial=initial, children=children)
    cutoffs = []
    for c in children:
        with scope(school=c.school):
            cutoffs.append((c, selectors.report_cutoff(school=c.school, pupil=c, day=today)))
    return render(request, "parent/report_form.html", {"form": form, "cutoffs": cutoffs, "today": today,
                                                       "duplicate": duplicate})


def _child_initial(request: HttpRequest, children: list[Any]) -> dict[str, Any]:
    """The child a form opens on: the one named in the link, else the only one."""
    if request.GET.get("child", "").isdigit():
        return {"child": request.GET["child"]}
    if len(children) == 1:
        return {"child": children[0].pk}
    return {}


def _own(model: Any, request: HttpRequest, pk: int) -> Any:
    # The parent link is the filter (in the parent's schools' scope); a guess at someone else's id is a 404.
    found = model.objects.filter(pk=pk, pupil__contacts__guardian__user=request.user).select_related(
        "pupil", "school").first()
    if found is None:
        raise Http404("Not found")
    return found


@login_required
@require_GET
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _own(AbsenceReport, request, report_id)
    with scope(school=report.school):
        return render(request, "parent/report_detail.html", {"report": report, "child": report.pupil})


@login_required
@require_http_methods(["GET", "POST"])
def leave_new(request: SignedInRequest) -> HttpResponse:
    children = children_of(request.user)
    if not children:
        raise Http404("No children linked")
    today = timezone.localdate()
    if request.method == "POST":
        if rate_limited(request, "leave"):
            return _too_many(request)
        form = LeaveRequestForm(request.POST, request.FILES, children=children)
        if form.is_valid():
            pupil = form.cleaned_data["child"]
            with scope(school=pupil.school):
                try:
                    item = services.leave_request_create(
                        pupil=pupil, by=request.user,
                        guardian=selectors.parent_guardian_for(user=request.user, pupil=pupil),
                        first_date=form.cleaned_data["first_date"], last_date=form.cleaned_data["last_date"],
                        sessions=form.cleaned_data["sessions"], circumstance=form.cleaned_data["circumstance"],
                        reason=form.cleaned_data["reason"], evidence=form.cleaned_data.get("evidence"),
                    )
                except services.AbsenceError as exc:
                    form.add_error(None, exc)
                else:
                    rate_count(request, "leave", accepted=True)
                    return redirect("parent:leave_detail", item.pk)
        rate_count(request, "leave", accepted=False)
    else:
        form = LeaveRequestForm(initial=_child_initial(request, children), children=children)
    notices = []
    for c in children:
        with scope(school=c.school):
            notices.append((c, policy_for(school=c.school, day=today).leave_notice_days))
    return render(request, "parent/leave_form.html", {"form": form, "notices": notices})


@login_required
@require_GET
def leave_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    item = _own(LeaveRequest, request, request_id)
    with scope(school=item.school):
        return render(request, "parent/leave_detail.html", {"item": item, "child": item.pupil})
