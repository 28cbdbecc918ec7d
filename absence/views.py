"""Office pages for absence follow-up (/s/<school>/absence/...). The middleware has opened the school's scope.

Every page checks its permission; another school's object is a 404 because every lookup is filtered by
`request.school` inside that scope. Writes go through `absence.services`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accesslog.models import AccessKind
from accesslog.services import access_record
from accounts.selectors import invitation_pending_exists
from attendance_portal.http import SchoolRequest
from attendance_portal.permissions import can, requires
from registers import codes
from registers.calendar import school_day_latest
from registers.models import Guardian, Pupil
from registers.selectors import mark_history

from . import selectors, services
from .forms import (
    AcceptForm,
    AgedResolveForm,
    ContactAttemptForm,
    EvidenceOutcomeForm,
    GrantForm,
    RefuseForm,
    RejectForm,
    ResolveForm,
)
from .models import AbsenceReport, ContactAttempt, LeaveRequest, MedicalEvidenceRequest

FOLLOW_UP = "follow_up_absence"
DECIDE = "decide_leave"


def _back(request: SchoolRequest, default: str) -> HttpResponse:
    """Return to the page the form was on (only our own paths), else the default page."""
    target = request.POST.get("next", "")
    if target.startswith(f"/s/{request.school.slug}/"):
        return redirect(target)
    return redirect(default)


def _fail(request: SchoolRequest, error: Exception) -> None:
    messages.error(request, "; ".join(getattr(error, "messages", [str(error)])))


def _form_errors(request: SchoolRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for e in errors:
            messages.error(request, f"{label}: {e}" if label else e)


# ---------------------------------------------------------------- unexplained today


@requires(FOLLOW_UP)
@require_GET
def today(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    now = timezone.localtime()
    day = school_day_latest(school=school, day=now.date())
    day_note = ""
    if day != now.date():
        # A weekend or holiday: the last school day as it stood at the end of that day.
        now = now.replace(year=day.year, month=day.month, day=day.day, hour=23, minute=59)
        day_note = (f"Today ({timezone.localdate():%A %d %B}) is not a school day, so this shows {day:%A %d %B}, "
                    "the last school day.")
    view = selectors.unexplained_today(school=school, now=now)
    rows = [(row, ContactAttemptForm(contacts=row.contacts, prefix=f"p{row.pupil.pk}"),
             ResolveForm(keys=[(m.date, m.session) for m in row.sessions], prefix=f"r{row.pupil.pk}",
                         initial={"keys": [f"{m.date.isoformat()}:{m.session}" for m in row.sessions]}))
            for row in view.rows]
    return render(request, "absence/today.html", {
        "view": view, "rows": rows, "day_note": day_note,
        "sensitive": can(request.user, "view_sensitive", request.school),
    })


@requires(FOLLOW_UP)
@require_POST
def notify_unexplained(request: SchoolRequest, school_slug: str) -> HttpResponse:
    result = services.unexplained_notify(school=request.school)
    messages.success(request, f"Messages queued for {result.pupils} pupils' families ({result.messages} in all). "
                              "Families already told today were not messaged again.")
    return redirect("absence:today", school_slug)


@requires(FOLLOW_UP)
@require_POST
def contact_add(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    pupil = get_object_or_404(Pupil, pk=pupil_id, school=request.school)
    contacts = list(pupil.contacts.select_related("guardian"))
    form = ContactAttemptForm(request.POST, contacts=contacts, prefix=request.POST.get("prefix") or None)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        try:
            services.contact_attempt_record(
                pupil=pupil, by=request.user, method=form.cleaned_data["method"],
                outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"],
                contact_id=form.cleaned_data["contact"],
            )
            messages.success(request, f"Contact attempt for {pupil.full_name} logged.")
        except services.AbsenceError as exc:
            _fail(request, exc)
    return _back(request, reverse("absence:today", args=[school_slug]))


@requires(FOLLOW_UP, "amend_mark")
@require_POST
def resolve(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    pupil = get_object_or_404(Pupil, pk=pupil_id, school=request.school)
    marks = selectors.n_marks_for(school=request.school, pupil_id=pupil.pk)
    form = ResolveForm(request.POST, keys=[(m.date, m.session) for m in marks],
                       prefix=request.POST.get("prefix") or None)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        try:
            result = services.n_codes_resolve(
                pupil=pupil, by=request.user, keys=form.cleaned_data["keys"],
                code=form.cleaned_data["code"], reason=form.cleaned_data["reason"],
            )
            messages.success(request, f"{pupil.full_name}: {result.amended} session(s) amended from N to "
                                      f"{form.cleaned_data['code']}.")
        except services.AbsenceError as exc:
            _fail(request, exc)
    return _back(request, reverse("absence:today", args=[school_slug]))


@requires(FOLLOW_UP, write=("amend_mark",))
@require_http_methods(["GET", "POST"])
def aged(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """N codes past the limit, one row per pupil with their sessions; the office resolves several at once."""
    school = request.school
    today_ = timezone.localdate()
    aged_rows = selectors.aged_n_by_pupil(school=school, today=today_)
    policy_limit = selectors.policy_for(school=school, day=today_).n_code_limit_school_days
    status = 200
    form = AgedResolveForm(initial={"code": codes.OTHER_UNAUTHORISED,
                                    "reason": f"No reason established within {policy_limit} school days"})
    if request.method == "POST":
        form = AgedResolveForm(request.POST)
        if form.is_valid():
            try:
                done = services.n_codes_resolve_many(
                    school=school, by=request.user, selections=form.selections(request.POST, aged_rows),
                    code=form.cleaned_data["code"], reason=form.cleaned_data["reason"])
            except services.AbsenceError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"{done.sessions} session{'s' if done.sessions != 1 else ''} of "
                                          f"{done.pupils} pupil{'s' if done.pupils != 1 else ''} changed from N to "
                                          f"{form.cleaned_data['code']}.")
                return redirect("absence:aged", school_slug)
        status = 400
    return render(request, "absence/aged.html", {
        "rows": aged_rows, "sessions": sum(len(r.marks) for r in aged_rows), "limit": policy_limit, "form": form,
        "deadline": selectors.n_code_deadline(school=school, today=today_),
        "may_resolve": can(request.user, "amend_mark", school),
    }, status=status)


@requires(FOLLOW_UP)
@require_GET
def pupil(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    school = request.school
    found = get_object_or_404(Pupil.objects.select_related("registration_group"), pk=pupil_id, school=school)
    contacts = list(found.contacts.select_related("guardian").order_by("priority"))
    n_marks = selectors.n_marks_for(school=school, pupil_id=found.pk)
    sensitive = can(request.user, "view_sensitive", school)
    if sensitive and found.has_social_worker:  # the page shows the flag
        access_record(school=school, by=request.user, kind=AccessKind.SENSITIVE, pupil=found,
                      what="Social worker flag on the pupil's absence page", path=request.get_full_path())
    return render(request, "absence/pupil.html", {
        "pupil": found,
        "contacts": contacts,
        "figures": selectors.attendance_figures(school=school, pupil_ids=[found.pk]).get(found.pk,
                                                                                        selectors.Figures()),
        "n_marks": n_marks,
        "contact_form": ContactAttemptForm(contacts=contacts),
        "resolve_form": ResolveForm(keys=[(m.date, m.session) for m in n_marks]),
        "attempts": ContactAttempt.objects.filter(school=school, pupil=found).select_related(
            "by", "contact__guardian")[:30],
        "reports": AbsenceReport.objects.filter(school=school, pupil=found)[:20],
        "leave": LeaveRequest.objects.filter(school=school, pupil=found)[:20],
        "medical": MedicalEvidenceRequest.objects.filter(school=school, pupil=found)[:10],
        "sent": selectors.messages_for(school=school, pupil_id=found.pk),
        "history": mark_history(school=school, pupil_id=found.pk)[:30],
        "sensitive": sensitive,
    })


# ---------------------------------------------------------------- parent reports


@requires(FOLLOW_UP)
@require_GET
def reports(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    return render(request, "absence/reports.html", {
        "pending": list(selectors.reports_pending(school=school)),
        "recent": selectors.reports_recent(school=school),
        "accept_form": AcceptForm(), "reject_form": RejectForm(),
    })


@requires(FOLLOW_UP, "amend_mark")
@require_POST
def report_accept(request: SchoolRequest, school_slug: str, report_id: int) -> HttpResponse:
    report = get_object_or_404(AbsenceReport.objects.select_related("pupil"), pk=report_id,
                               school=request.school)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("absence:reports", school_slug)
    try:
        report, result = services.absence_report_accept(report=report, by=request.user,
                                                        code=form.cleaned_data["code"])
        messages.success(request, f"Report {report.reference} accepted: {report.code} recorded for "
                                  f"{result.created + result.amended} session(s) of {report.pupil.full_name}.")
    except services.AbsenceError as exc:
        _fail(request, exc)
    return _back(request, reverse("absence:reports", args=[school_slug]))


@requires(FOLLOW_UP)
@require_POST
def report_reject(request: SchoolRequest, school_slug: str, report_id: int) -> HttpResponse:
    report = get_object_or_404(AbsenceReport, pk=report_id, school=request.school)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason the report is not accepted; the parent will see it.")
        return redirect("absence:reports", school_slug)
    try:
        services.absence_report_reject(report=report, by=request.user,
                                       reason=form.cleaned_data["reason"])
        messages.success(request, f"Report {report.reference} not accepted; the parent has been told why.")
    except services.AbsenceError as exc:
        _fail(request, exc)
    return _back(request, reverse("absence:reports", args=[school_slug]))


# ---------------------------------------------------------------- leave requests


@requires(any_of=(FOLLOW_UP, DECIDE))
@require_GET
def leave(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    pending = list(selectors.leave_pending(school=school))
    ids = [r.pupil_id for r in pending]
    figures = selectors.attendance_figures(school=school, pupil_ids=ids)
    previous = selectors.leave_previous_counts(school=school, pupil_ids=ids)
    rows = [(r, figures.get(r.pupil_id, selectors.Figures()), previous.get(r.pupil_id, {})) for r in pending]
    return render(request, "absence/leave.html", {
        "rows": rows,
        "refused": selectors.leave_refused_open(school=school, today=timezone.localdate()),
        "decided": LeaveRequest.objects.filter(school=school).exclude(status=LeaveRequest.Status.PENDING)
        .select_related("pupil", "decided_by").order_by("-decided_at")[:20],
        "can_decide": can(request.user, DECIDE, school),
        "can_follow_up": can(request.user, FOLLOW_UP, school),
    })


@requires(any_of=(FOLLOW_UP, DECIDE))
@require_GET
def leave_detail(request: SchoolRequest, school_slug: str, request_id: int) -> HttpResponse:
    school = request.school
    item = get_object_or_404(LeaveRequest.objects.select_related("pupil", "decided_by"), pk=request_id,
                             school=school)
    return render(request, "absence/leave_detail.html", {
        "item": item,
        "figures": selectors.attendance_figures(school=school, pupil_ids=[item.pupil_id]).get(
            item.pupil_id, selectors.Figures()),
        "previous": LeaveRequest.objects.filter(school=school, pupil_id=item.pupil_id).exclude(pk=item.pk)[:20],
        "sessions": selectors.report_sessions(school=school, first=item.first_date, last=item.last_date,
                                              sessions=item.sessions),
        "grant_form": GrantForm(initial={"circumstance": item.circumstance}, prefix="grant"),
        "refuse_form": RefuseForm(prefix="refuse"),
        "codes": LeaveRequest.CODES,
        "can_decide": can(request.user, DECIDE, school),
        "can_follow_up": can(request.user, FOLLOW_UP, school),
    })


@requires(any_of=(FOLLOW_UP, DECIDE))
@require_GET
def leave_evidence(request: SchoolRequest, school_slug: str, request_id: int) -> FileResponse:
    item = get_object_or_404(LeaveRequest, pk=request_id, school=request.school)
    if not item.evidence:
        raise Http404("No evidence")
    access_record(school=request.school, by=request.user, kind=AccessKind.EVIDENCE,
                  pupil=item.pupil, what=f"Evidence for leave request {item.reference}", path=request.get_full_path())
    # Served as a download with the type found from its content, never rendered inline from a parent's file.
    return FileResponse(item.evidence.open("rb"), as_attachment=True, content_type=item.evidence_type,
                        filename=f"{item.reference}-evidence{(item.evidence.name or '')[-4:]}")


@requires(DECIDE)
@require_POST
def leave_grant(request: SchoolRequest, school_slug: str, request_id: int) -> HttpResponse:
    item = get_object_or_404(LeaveRequest, pk=request_id, school=request.school)
    form = GrantForm(request.POST, prefix="grant")
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("absence:leave_detail", school_slug, item.pk)
    try:
        item, result = services.leave_request_grant(request=item, by=request.user,
                                                    circumstance=form.cleaned_data["circumstance"],
                                                    reason=form.cleaned_data["reason"])
        messages.success(request, f"Leave {item.reference} granted: {LeaveRequest.CODES[item.granted_circumstance]}"
                                  f" recorded for {result.created + result.amended} session(s).")
    except services.AbsenceError as exc:
        _fail(request, exc)
    return redirect("absence:leave", school_slug)


@requires(DECIDE)
@require_POST
def leave_refuse(request: SchoolRequest, school_slug: str, request_id: int) -> HttpResponse:
    item = get_object_or_404(LeaveRequest, pk=request_id, school=request.school)
    form = RefuseForm(request.POST, prefix="refuse")
    if not form.is_valid():
        messages.error(request, "Give the reason for refusing; the parent will see it.")
        return redirect("absence:leave_detail", school_slug, item.pk)
    try:
        services.leave_request_refuse(request=item, by=request.user,
                                      reason=form.cleaned_data["reason"])
        messages.success(request, f"Leave {item.reference} refused; the parent has been told.")
    except services.AbsenceError as exc:
        _fail(request, exc)
    return redirect("absence:leave", school_slug)


@requires(FOLLOW_UP, "amend_mark")
@require_POST
def leave_taken(request: SchoolRequest, school_slug: str, request_id: int) -> HttpResponse:
    item = get_object_or_404(LeaveRequest, pk=request_id, school=request.school)
    try:
        item, result = services.leave_request_record_taken(request=item, by=request.user)
        messages.success(request, f"Leave {item.reference}: G recorded for {result.created + result.amended} "
                                  "session(s).")
    except services.AbsenceError as exc:
        _fail(request, exc)
    return redirect("absence:leave", school_slug)


# ---------------------------------------------------------------- medical evidence


@requires(FOLLOW_UP)
@require_GET
def medical(request: SchoolRequest, school_slug: str) -> HttpResponse:
    return render(request, "absence/medical.html", {
        "items": selectors.medical_requests(school=request.school)[:200],
        "form": EvidenceOutcomeForm(),
    })


@requires(FOLLOW_UP)
@require_POST
def medical_record(request: SchoolRequest, school_slug: str, evidence_id: int) -> HttpResponse:
    item = get_object_or_404(MedicalEvidenceRequest, pk=evidence_id, school=request.school)
    form = EvidenceOutcomeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        services.medical_evidence_record(request=item, by=request.user,
                                         received=form.cleaned_data["received"], note=form.cleaned_data["note"])
        messages.success(request, "Medical evidence outcome recorded.")
    return _back(request, reverse("absence:medical", args=[school_slug]))


# ---------------------------------------------------------------- parent accounts


@requires(FOLLOW_UP)
@require_GET
def parents(request: SchoolRequest, school_slug: str) -> HttpResponse:
    qs = Guardian.objects.filter(school=request.school).annotate(
        invited=invitation_pending_exists()).order_by("surname", "forename")
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(surname__icontains=query) | qs.filter(email__icontains=query)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "absence/parents.html", {"page": page, "q": query})


@requires(FOLLOW_UP)
@require_POST
def invite(request: SchoolRequest, school_slug: str, guardian_id: int) -> HttpResponse:
    guardian = get_object_or_404(Guardian, pk=guardian_id, school=request.school)
    try:
        services.parent_invite(guardian=guardian, by=request.user,
                               base_url=request.build_absolute_uri("/"))
        messages.success(request, f"Invitation sent to {guardian} at {guardian.email}.")
    except services.AbsenceError as exc:
        _fail(request, exc)
    return _back(request, reverse("absence:parents", args=[school_slug]))
