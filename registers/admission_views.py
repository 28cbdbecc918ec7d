"""Admission register pages for school staff. Thin: check the role, read the form, call `registers.admission`.

The middleware has opened the school's scope and turned non-members into 404s; a member without the
action gets 403. Objects are looked up inside request.school, so another school's id is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accesslog.models import AccessKind
from accesslog.services import access_record
from attendance_portal.http import SchoolRequest
from attendance_portal.permissions import can, requires

from .admission import (
    AdmissionError,
    contact_add,
    contact_remove,
    contact_update,
    enrolment_admit,
    enrolment_leave,
    enrolment_leave_check,
    leaving_reminders,
    pupil_create,
    pupil_update,
)
from .admission_forms import AdmitForm, ContactForm, LeaveForm, PupilForm, RegisterFilterForm, add_errors
from .models import DeletionGround, Enrolment, Pupil, PupilContact
from .selectors import Status, admission_register, pupil_detail

PER_PAGE = 50
MAX_PER_PAGE = 200


def _school(request: SchoolRequest) -> Any:
    return request.school


def _may(request: SchoolRequest, action: str) -> bool:
    return can(request.user, action, _school(request))


def _pupil(request: SchoolRequest, pupil_id: int) -> Pupil:
    return get_object_or_404(Pupil.objects.filter(school=_school(request)).select_related("registration_group"),
                             pk=pupil_id)


# --------------------------------------------------------------------------- the register



def _form_page(request: SchoolRequest, form: Any, template: str, context: dict[str, Any],
               save: Callable[[], tuple[str, int]]) -> HttpResponse:
    """The add/edit pattern: a valid form is saved by `save`, which returns the message and the pupil to
    go back to; a save the service refuses shows its reasons on the form, and nothing is written."""
    if request.method == "POST":
        if form.is_valid():
            try:
                message, pupil_id = save()
            except AdmissionError as error:
                add_errors(form, error)
            else:
                messages.success(request, message)
                return redirect("registers:pupil", request.school.slug, pupil_id)
        return render(request, template, context, status=400)
    return render(request, template, context)

@requires("view_pupils")
@require_http_methods(["GET"])
def admission(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = _school(request)
    form = RegisterFilterForm(request.GET or None, school=school)
    filters: dict[str, Any] = {"status": Status.ON_ROLL}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"group_id": data["group"].pk if data["group"] else None, "year_group": data["year"],
                   "status": data["status"] or Status.ON_ROLL, "search": data["q"]}
    try:
        per_page = min(max(int(request.GET.get("per_page", PER_PAGE)), 1), MAX_PER_PAGE)
    except ValueError:
        per_page = PER_PAGE
    page = Paginator(admission_register(school=school, **filters), per_page).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "may_manage": _may(request, "manage_school")}
    template = "registers/admission/_table.html" if request.htmx else "registers/admission/index.html"
    return render(request, template, context)


@requires("view_pupils")
@require_http_methods(["GET"])
def pupil(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    try:
        found = pupil_detail(school=_school(request), pupil_id=pupil_id)
    except Pupil.DoesNotExist as exc:
        raise Http404 from exc
    sensitive = _may(request, "view_sensitive")
    if sensitive:
        _sensitive_opened(request, found, "Cohort characteristics on the pupil's page")
    return render(request, "registers/admission/pupil.html", {
        "pupil": found, "enrolments": list(found.enrolments.all()), "contacts": list(found.contacts.all()),
        "sensitive": sensitive, "may_manage": _may(request, "manage_school"),
    })


def _sensitive_opened(request: SchoolRequest, pupil: Pupil, what: str) -> None:
    access_record(school=_school(request), by=request.user, kind=AccessKind.SENSITIVE, pupil=pupil,
                  what=what, path=request.get_full_path())


# --------------------------------------------------------------------------- add and change a pupil


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def pupil_add(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = _school(request)
    form = PupilForm(request.POST or None, school=school, adding=True, sensitive=_may(request, "view_sensitive"))

    def save() -> tuple[str, int]:
        created = pupil_create(school=school, **form.pupil_kwargs(), cohort=form.cohort(),
                               admission_date=form.cleaned_data["admission_date"],
                               registration_type=form.cleaned_data["registration_type"],
                               temporary_upn=form.cleaned_data.get("temporary_upn", False))
        return (f"{created.full_name} added to the admission register from "
                f"{form.cleaned_data['admission_date']:%d %B %Y}.", created.pk)

    return _form_page(request, form, "registers/admission/pupil_form.html", {"form": form}, save)


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def pupil_edit(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    school = _school(request)
    found = _pupil(request, pupil_id)
    sensitive = _may(request, "view_sensitive")
    form = PupilForm(request.POST or None, school=school, adding=False, sensitive=sensitive,
                     initial=PupilForm.initial_for(found))
    if sensitive and request.method == "GET":
        _sensitive_opened(request, found, "Cohort characteristics on the change-details form")

    def save() -> tuple[str, int]:
        pupil_update(school=school, pupil=found, **form.pupil_kwargs(), cohort=form.cohort())
        return f"{found.full_name}'s details saved.", found.pk

    return _form_page(request, form, "registers/admission/pupil_form.html", {"form": form, "pupil": found}, save)


# --------------------------------------------------------------------------- enrolments


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def admit(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    school = _school(request)
    found = _pupil(request, pupil_id)
    form = AdmitForm(request.POST or None)

    def save() -> tuple[str, int]:
        entry = enrolment_admit(school=school, pupil=found, **form.cleaned_data)
        return f"{found.full_name} admitted again from {entry.admission_date:%d %B %Y}.", found.pk

    return _form_page(request, form, "registers/admission/admit.html", {"form": form, "pupil": found}, save)


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def leave(request: SchoolRequest, school_slug: str, enrolment_id: int) -> HttpResponse:
    """Two steps: the form, then a confirmation page with the reminders; only the confirmed post writes."""
    school = _school(request)
    entry = get_object_or_404(Enrolment.objects.filter(school=school).select_related("pupil"), pk=enrolment_id)
    form = LeaveForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "enrolment": entry, "pupil": entry.pupil}
    if entry.leaving_date and request.method == "GET":
        messages.info(request, f"This enrolment already ended on {entry.leaving_date:%d %B %Y}.")
        return redirect("registers:pupil", school.slug, entry.pupil_id)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if request.POST.get("confirm") == "yes":
                    enrolment_leave(school=school, enrolment=entry, **data)
                    messages.success(request, f"{entry.pupil.full_name} removed from the register from "
                                              f"{data['leaving_date']:%d %B %Y}.")
                    return redirect("registers:pupil", school.slug, entry.pupil_id)
                enrolment_leave_check(school=school, enrolment=entry, **data)
            except AdmissionError as error:
                add_errors(form, error)
            else:
                return render(request, "registers/admission/leave_confirm.html", {
                    **context, "data": data, "ground": DeletionGround(data["deletion_ground"]).label,
                    "reminders": leaving_reminders(pupil=entry.pupil, deletion_ground=data["deletion_ground"]),
                })
        return render(request, "registers/admission/leave.html", context, status=400)
    return render(request, "registers/admission/leave.html", context)


# --------------------------------------------------------------------------- contacts


def _contact_fields(form: ContactForm) -> dict[str, Any]:
    return dict(form.cleaned_data)


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def contact_new(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    school = _school(request)
    found = _pupil(request, pupil_id)
    next_priority = found.contacts.count() + 1
    form = ContactForm(request.POST or None, initial={"priority": min(next_priority, 9)})

    def save() -> tuple[str, int]:
        contact_add(school=school, pupil=found, **_contact_fields(form))
        return f"Contact added for {found.full_name}.", found.pk

    return _form_page(request, form, "registers/admission/contact_form.html", {"form": form, "pupil": found}, save)


def _contact(request: SchoolRequest, contact_id: int) -> PupilContact:
    return get_object_or_404(PupilContact.objects.filter(school=_school(request))
                             .select_related("guardian", "pupil"), pk=contact_id)


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def contact_edit(request: SchoolRequest, school_slug: str, contact_id: int) -> HttpResponse:
    school = _school(request)
    contact = _contact(request, contact_id)
    g = contact.guardian
    form = ContactForm(request.POST or None, initial={
        "forename": g.forename, "surname": g.surname, "phone": g.phone, "email": g.email,
        "address": g.address, "postcode": g.postcode,
        "relationship": contact.relationship, "parental_responsibility": contact.parental_responsibility,
        "lives_with_pupil": contact.lives_with_pupil, "priority": contact.priority})

    def save() -> tuple[str, int]:
        contact_update(school=school, contact=contact, by=request.user,
                       **_contact_fields(form))
        return f"Contact {g.forename} {g.surname} saved.", contact.pupil_id

    context = {"form": form, "pupil": contact.pupil, "contact": contact}
    return _form_page(request, form, "registers/admission/contact_form.html", context, save)


@requires("manage_school")
@require_http_methods(["GET", "POST"])
def contact_delete(request: SchoolRequest, school_slug: str, contact_id: int) -> HttpResponse:
    school = _school(request)
    contact = _contact(request, contact_id)
    context = {"contact": contact, "pupil": contact.pupil, "portal": bool(contact.guardian.user_id)}
    if request.method == "POST":
        try:
            contact_remove(school=school, contact=contact, confirmed=request.POST.get("confirm") == "yes")
        except AdmissionError as error:
            context["problem"] = "; ".join(m for ms in error.errors.values() for m in ms)
            return render(request, "registers/admission/contact_remove.html", context, status=400)
        messages.success(request, f"{contact.guardian} is no longer a contact for {contact.pupil.full_name}.")
        return redirect("registers:pupil", school.slug, contact.pupil_id)
    return render(request, "registers/admission/contact_remove.html", context)
