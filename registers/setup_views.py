"""School set-up pages (calendar, closures, register times, groups' teachers) and the onboarding upload. Thin views.

The middleware has already opened the school's scope and turned non-members into 404s; each view
checks the action ("manage_school" or "import_data") and answers 403 to a member without it.
Objects are looked up inside request.school, so another school's id is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from attendance_portal.http import SchoolRequest
from attendance_portal.permissions import can, requires

from .imports import import_batch_create, import_batch_progress
from .models import AcademicYear, Closure, ImportBatch, RegistrationGroup, SessionTimes, Term
from .selectors import calendar_years, closures_from, import_batches_recent, registration_groups
from .setup_forms import (
    MAX_UPLOAD_BYTES,
    AcademicYearForm,
    ClosureForm,
    GroupTeachersForm,
    ImportUploadForm,
    TermForm,
    closure_create,
    closure_delete,
    school_year_groups,
    session_times_forms,
    session_times_save,
    today,
)


def _school(request: SchoolRequest) -> Any:
    return request.school


@requires("manage_school")
@require_http_methods(["GET"])
def setup_home(request: SchoolRequest, school_slug: str) -> HttpResponse:
    from staff.selectors import group_teachers

    school = _school(request)
    set_times = SessionTimes.objects.filter(school=school).count()
    year_groups = len(school_year_groups(school=school,
                                         existing=SessionTimes.objects.filter(school=school).values_list(
                                             "year_group", flat=True)))
    return render(request, "registers/setup/home.html", {
        "years": calendar_years(school=school),
        "upcoming": closures_from(school=school, day=today())[:5],
        "times_set": set_times, "year_groups": year_groups,
        "groups_total": RegistrationGroup.objects.filter(school=school).count(),
        "groups_taught": len(group_teachers(school=school)),
        "may_import": can(request.user, "import_data", school),
    })


# --------------------------------------------------------------------------- years and terms


@requires("manage_school")
@require_http_methods(["GET"])
def terms(request: SchoolRequest, school_slug: str) -> HttpResponse:
    return render(request, "registers/setup/terms.html", {"years": calendar_years(school=_school(request))})


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def year_create(request: SchoolRequest, school_slug: str) -> HttpResponse:
    return _year_form(request, None)


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def year_edit(request: SchoolRequest, school_slug: str, year_id: int) -> HttpResponse:
    year = get_object_or_404(AcademicYear.objects.filter(school=_school(request)), pk=year_id)
    return _year_form(request, year)


def _year_form(request: SchoolRequest, year: AcademicYear | None) -> HttpResponse:
    school = _school(request)
    form = AcademicYearForm(request.POST or None, school=school, instance=year)
    if request.method == "POST":
        if form.is_valid():
            saved = form.save()
            messages.success(request, f"Academic year {saved.name} saved.")
            return redirect("registers:terms", school.slug)
        return render(request, "registers/setup/year_form.html", {"form": form, "year": year}, status=400)
    return render(request, "registers/setup/year_form.html", {"form": form, "year": year})


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def term_create(request: SchoolRequest, school_slug: str, year_id: int) -> HttpResponse:
    year = get_object_or_404(AcademicYear.objects.filter(school=_school(request)), pk=year_id)
    return _term_form(request, year, None)


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def term_edit(request: SchoolRequest, school_slug: str, term_id: int) -> HttpResponse:
    term = get_object_or_404(Term.objects.filter(school=_school(request)).select_related("academic_year"),
                             pk=term_id)
    return _term_form(request, term.academic_year, term)


def _term_form(request: SchoolRequest, year: AcademicYear, term: Term | None) -> HttpResponse:
    school = _school(request)
    form = TermForm(request.POST or None, school=school, year=year, instance=term)
    context = {"form": form, "year": year, "term": term}
    if request.method == "POST":
        if form.is_valid():
            saved = form.save()
            messages.success(request, f"{saved.name} saved ({saved.start:%d %b} to {saved.end:%d %b %Y}).")
            return redirect("registers:terms", school.slug)
        return render(request, "registers/setup/term_form.html", context, status=400)
    return render(request, "registers/setup/term_form.html", context)


# --------------------------------------------------------------------------- closures


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def closures(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = _school(request)
    form = ClosureForm(request.POST or None, school=school)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            closure = closure_create(school=school, day=data["date"], session=data["session"], reason=data["reason"])
            messages.success(request, f"Closure added: {closure.date:%A %d %B %Y}, "
                                      f"{closure.get_session_display().lower()} ({closure.reason}).")
            return redirect("registers:closures", school.slug)
        status = 400
    first = today()
    return render(request, "registers/setup/closures.html", {
        "form": form, "today": first,
        "upcoming": closures_from(school=school, day=first),
        "past": Closure.objects.filter(school=school, date__lt=first).order_by("-date")[:20],
    }, status=status)


@requires("manage_school")
@require_POST
def closure_delete_view(request: SchoolRequest, school_slug: str, closure_id: int) -> HttpResponse:
    school = _school(request)
    closure = get_object_or_404(Closure.objects.filter(school=school), pk=closure_id)
    problem = closure_delete(school=school, closure=closure)
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, f"Closure on {closure.date:%A %d %B %Y} removed; it is a school day again.")
    return redirect("registers:closures", school.slug)


# --------------------------------------------------------------------------- register times


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def session_times(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = _school(request)
    rows = session_times_forms(school=school, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if all(row.is_valid() for row in rows):
            changed = session_times_save(school=school, rows=rows)
            messages.success(request, f"Register times saved for {changed} year group{'s' if changed != 1 else ''}."
                             if changed else "No register times changed.")
            return redirect("registers:session_times", school.slug)
        problems = [e for row in rows for e in row.non_field_errors()]
        problems += [f"{row.label}: {e}" for row in rows for f in row.FIELDS for e in row.errors.get(f, [])]
        return render(request, "registers/setup/session_times.html", {"rows": rows, "problems": problems},
                      status=400)
    return render(request, "registers/setup/session_times.html", {"rows": rows, "problems": []})


# --------------------------------------------------------------------------- registration groups' teachers
# The links are staff's (`staff.models.GroupTeacher`, also set from a person's staff page); the office sets
# them here from the group's side.


@requires("manage_school")
@require_http_methods(["GET"])
def groups(request: SchoolRequest, school_slug: str) -> HttpResponse:
    from staff.selectors import group_teachers

    school = _school(request)
    teachers = group_teachers(school=school)
    rows = [(group, teachers.get(group.pk, [])) for group in registration_groups(school=school)]
    return render(request, "registers/setup/groups.html", {"rows": rows})


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def group_teachers_edit(request: SchoolRequest, school_slug: str, group_id: int) -> HttpResponse:
    from staff.selectors import group_teachers, register_takers
    from staff.services import StaffError, group_teachers_set

    school = _school(request)
    group = get_object_or_404(RegistrationGroup.objects.filter(school=school), pk=group_id)
    current = group_teachers(school=school).get(group.pk, [])
    takers = register_takers(school=school)
    people = takers + [u for u in current if u not in takers]  # someone linked who no longer takes registers
    # An empty POST (every box cleared) is still a submitted form.
    form = GroupTeachersForm(request.POST if request.method == "POST" else None, people=people,
                             initial={"teachers": [u.pk for u in current]})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                group_teachers_set(by=request.user, school=school, group=group,
                                   user_ids=form.cleaned_data["teachers"])
            except StaffError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, f"Teachers of {group.name} saved.")
                return redirect("registers:groups", school.slug)
        status = 400
    return render(request, "registers/setup/group_teachers.html", {"group": group, "form": form}, status=status)


# --------------------------------------------------------------------------- import


@requires("import_data")
@require_http_methods(["GET", "POST"])
def import_upload(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = _school(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            batch = import_batch_create(school=school, by=request.user, uploads=form.cleaned_data)
            return redirect("registers:import_status", school.slug, batch.pk)
        status = 400
    return render(request, "registers/setup/import.html", {
        "form": form, "batches": import_batches_recent(school=school), "max_mb": MAX_UPLOAD_BYTES // 1_048_576,
    }, status=status)


@requires("import_data")
@require_http_methods(["GET"])
def import_status(request: SchoolRequest, school_slug: str, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.filter(school=_school(request)).select_related("created_by"),
                              pk=batch_id)
    context = {"batch": batch, "progress": import_batch_progress(batch=batch),
               "running": batch.status in (ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING),
               "may_see_sensitive": can(request.user, "view_sensitive", _school(request))}
    if request.htmx:
        return render(request, "registers/setup/_import_progress.html", context)
    return render(request, "registers/setup/import_status.html", context)
