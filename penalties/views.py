"""Penalty-notice pages at the school (/s/<school>/penalties/...): the consideration on a case, the notice
to improve, the referral and the head's authorisation. The middleware has opened the school's scope; every
lookup is filtered by `request.school`, so another school's case is a 404. Writes go through the services."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from attendance_portal.http import SchoolRequest
from attendance_portal.models import Membership, User
from attendance_portal.permissions import can, requires
from interventions.models import Case
from interventions.selectors import context_for
from registers.models import PupilContact

from . import services
from .case_selectors import local_authority_of, pack_missing, referral_due, threshold_concern
from .forms import ConsiderForm, DelegateForm, NoticeToImproveForm, SubmitForm
from .models import Consideration, HeadDelegate, NoticeToImprove, Referral

WORK = "work_cases"


def _case(request: SchoolRequest, case_id: int) -> Case:
    return get_object_or_404(Case.objects.select_related("pupil", "enrolment", "stage"), school=request.school,
                             pk=case_id)


def _to_case(request: SchoolRequest, case: Case) -> HttpResponse:
    return redirect("penalties:case", request.school.slug, case.pk)


def show_refusal(request: HttpRequest, error: Exception) -> None:
    messages.error(request, " ".join(getattr(error, "messages", [str(error)])))


def attempt(request: HttpRequest, call: Callable[[], Any], done: str | Callable[[Any], str],
            refusals: tuple[type[Exception], ...] = (ValidationError,)) -> None:
    """Call a service: say `done` (or `done(result)`) when it worked, or the service's refusal when it did not.
    The one shape of every penalty action, at the school and at the local authority."""
    try:
        result = call()
    except refusals as error:
        show_refusal(request, error)
        return
    messages.success(request, done(result) if callable(done) else done)


def show_form_errors(request: HttpRequest, form: Any) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


@requires(WORK)
@require_GET
def case_penalty(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    school = request.school
    case = _case(request, case_id)
    considerations = list(Consideration.objects.filter(school=school, case=case).select_related("decided_by"))
    notices = list(NoticeToImprove.objects.filter(school=school, case=case)
                   .select_related("approved_by", "local_authority"))
    referral = Referral.objects.filter(school=school, case=case).select_related(
        "authorised_by", "local_authority").first()
    latest = considerations[0] if considerations else None
    nti = next((n for n in notices if latest and n.consideration_id == latest.pk), None)
    staff_ids = Membership.objects.filter(school=school).exclude(role="headteacher").values_list("user_id", flat=True)
    return render(request, "penalties/case.html", {
        "case": case, "threshold": threshold_concern(school=school, case=case),
        "la": local_authority_of(school), "context": context_for(school=school, case=case),
        "considerations": considerations, "latest": latest,
        "refer_by": referral_due(school=school, consideration=latest, nti=nti) if latest and not referral else None,
        "notices": notices, "referral": referral,
        "missing": pack_missing(referral=referral) if referral else [],
        "parents": PupilContact.objects.filter(school=school, pupil=case.pupil, parental_responsibility=True)
        .select_related("guardian"),
        "may_authorise": services.may_authorise(request.user, school),
        "is_head": can(request.user, "authorise_penalty", school),
        "delegates": HeadDelegate.objects.filter(school=school).select_related("user"),
        "staff": User.objects.filter(pk__in=staff_ids).order_by("last_name", "first_name"),
        "consider_form": ConsiderForm(auto_id="consider-%s"), "nti_form": NoticeToImproveForm(auto_id="nti-%s"),
        "submit_form": SubmitForm(auto_id="submit-%s"), "delegate_form": DelegateForm(auto_id="delegate-%s"),
    })


@requires(WORK)
@require_POST
def consider(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    form = ConsiderForm(request.POST)
    if not form.is_valid():
        show_form_errors(request, form)
        return _to_case(request, case)
    attempt(request, lambda: services.penalty_consider(case=case, by=request.user, **form.cleaned_data),
            lambda found: f"Consideration recorded: {found.get_decision_display().lower()}.")
    return _to_case(request, case)


@requires(WORK, "send_letters")
@require_POST
def notice_to_improve(request: SchoolRequest, school_slug: str, consideration_id: int) -> HttpResponse:
    consideration = get_object_or_404(Consideration.objects.select_related("case__pupil", "local_authority"),
                                      school=request.school, pk=consideration_id)
    form = NoticeToImproveForm(request.POST)
    if not form.is_valid():
        show_form_errors(request, form)
    else:
        attempt(request, lambda: services.notice_to_improve_issue(
            consideration=consideration, by=request.user, weeks=form.cleaned_data["weeks"],
            allowed_sessions=form.cleaned_data["allowed_sessions"]),
            lambda nti: f"Notice to improve given: a letter to each parent; the period ends {nti.ends_on:%-d %B %Y}.")
    return _to_case(request, consideration.case)


@requires(WORK)
@require_POST
def refer(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    attempt(request, lambda: services.referral_make(case=case, by=request.user),
            "Referral prepared: it now needs the headteacher's authorisation.")
    return _to_case(request, case)


def _referral(request: SchoolRequest, referral_id: int) -> Referral:
    return get_object_or_404(Referral.objects.select_related("case", "local_authority"), school=request.school,
                             pk=referral_id)


@requires(WORK, "authorise_penalty", also_allowed=services.may_authorise,
          message="Only the headteacher, or a deputy or assistant head they authorised, can authorise a referral.")
@require_POST
def authorise(request: SchoolRequest, school_slug: str, referral_id: int) -> HttpResponse:
    referral = _referral(request, referral_id)
    attempt(request, lambda: services.referral_authorise(referral=referral, by=request.user), "Referral authorised.",
            refusals=(ValidationError, PermissionDenied))
    return _to_case(request, referral.case)


@requires(WORK)
@require_POST
def submit(request: SchoolRequest, school_slug: str, referral_id: int) -> HttpResponse:
    referral = _referral(request, referral_id)
    form = SubmitForm(request.POST)
    form.is_valid()
    attempt(request, lambda: services.referral_submit(
        referral=referral, by=request.user, incomplete_reason=form.cleaned_data.get("incomplete_reason", "")),
        f"Referral submitted to {referral.local_authority.name}.")
    return _to_case(request, referral.case)


@requires("authorise_penalty")
@require_POST
def delegate(request: SchoolRequest, school_slug: str) -> HttpResponse:
    form = DelegateForm(request.POST)
    back = request.POST.get("case", "")
    if not form.is_valid():
        show_form_errors(request, form)
    else:
        user = Membership.objects.filter(school=request.school, user_id=form.cleaned_data["user"]).first()
        if user is None:
            messages.error(request, "Choose a member of this school's staff.")
        else:
            attempt(request, lambda: services.head_delegate_set(
                school=request.school, user=user.user, position=form.cleaned_data["position"], by=request.user),
                f"{user.user.display_name()} may now authorise referrals.",
                refusals=(ValidationError, PermissionDenied))
    if back.isdigit():
        return redirect("penalties:case", request.school.slug, int(back))
    return redirect("interventions:queue", request.school.slug)
