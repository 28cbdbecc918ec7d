"""Casework pages (/s/<school>/casework/...). The middleware has opened the school's scope; every lookup is
filtered by `request.school`, so another school's case is a 404. Reads need "work_cases" (officers, the
senior champion, the headteacher, trust officers); a ladder change needs "edit_ladder". Writes go through
`interventions.services`."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scope

from absence.selectors import parent_child_get
from attendance_portal.http import SchoolRequest
from attendance_portal.models import Membership, User
from attendance_portal.permissions import can, requires
from letters.selectors import parent_letters as letters_sent_to_parent
from registers.models import Enrolment

from . import selectors, services
from .forms import (
    BaseLadderStageFormSet,
    BulkApproveForm,
    BulkForm,
    ClockDoneForm,
    CloseForm,
    ContractForm,
    ContractReviewForm,
    DecisionForm,
    LadderForm,
    LadderStageFormSet,
    MeetingForm,
    MeetingRearrangeForm,
    MeetingRecordForm,
    NoteForm,
    OpenCaseForm,
    OwnerForm,
    PupilContextForm,
    QueueFilterForm,
    StageForm,
    SupportForm,
    ladder_stage_initial,
)
from .models import Action, AttendanceContract, Case, LadderStage, Meeting, StatutoryClock

WORK = "work_cases"


def _errors(request: SchoolRequest, form: Any) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ").capitalize() if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _fail(request: SchoolRequest, error: Exception) -> None:
    messages.error(request, " ".join(getattr(error, "messages", [str(error)])))


def _case(request: SchoolRequest, case_id: int) -> Case:
    return get_object_or_404(Case.objects.select_related("pupil", "stage__ladder", "enrolment"),
                             school=request.school, pk=case_id)


def _to_case(case: Case) -> HttpResponse:
    return redirect("interventions:case", case.school.slug, case.pk)


def _staff(request: SchoolRequest) -> list[User]:
    school = request.school
    where = Q(school=school, role__in=["attendance_officer", "senior_attendance_champion", "headteacher"])
    ids = Membership.objects.filter(where).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids).order_by("last_name", "first_name"))


# ---------------------------------------------------------------- queue and lists


def _filters(request: SchoolRequest) -> tuple[QueueFilterForm, selectors.Filters]:
    form = QueueFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        _errors(request, form)
        return form, selectors.Filters()
    data = form.cleaned_data if request.GET else {}
    return form, selectors.Filters(year_group=data.get("year_group") or "", cohort=data.get("cohort") or "",
                                   stage=data.get("stage"), owner=data.get("owner"), mine=bool(data.get("mine")))


def _urls(name: str, school_slug: str) -> Any:
    """A route's URL for any object id, reversed once: the page's rows format it instead of reversing each."""
    marker = 987654321
    pattern = reverse(name, args=[school_slug, marker])
    before, _, after = pattern.partition(str(marker))
    return lambda pk: f"{before}{pk}{after}"


@requires(WORK)
@require_GET
def queue(request: SchoolRequest, school_slug: str) -> HttpResponse:
    form, filters = _filters(request)
    found = selectors.queue_for(school=request.school, filters=filters, user=request.user)
    case_url, action_url, clock_url = (_urls(name, school_slug) for name in (
        "interventions:case", "interventions:action", "interventions:clock_done"))
    for row in (*found.due_cases, *found.improved):
        row.url = case_url(row.case_id)
    for action in found.actions:
        action.url, action.case_url = action_url(action.pk), case_url(action.case_id)
    for clock in found.clocks:
        clock.url = clock_url(clock.pk)
    # One hidden CSRF field for the page's many small forms (the token is the same for every form of a page).
    csrf_input = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
    return render(request, "interventions/queue.html", {
        "queue": found, "form": form, "lists": selectors.LISTS, "csrf_input": csrf_input,
        "open_url": reverse("interventions:case_open", args=[school_slug])})


@requires(WORK)
@require_GET
def pupil_list(request: SchoolRequest, school_slug: str, which: str) -> HttpResponse:
    if which not in selectors.LISTS:
        from django.http import Http404

        raise Http404("No such list")
    form, filters = _filters(request)
    rows = selectors.pupils_listed(school=request.school, which=which, filters=filters)
    from reporting.forecasts import METHOD

    return render(request, "interventions/list.html", {"rows": rows, "title": selectors.LISTS[which][0],
                                                       "which": which, "form": form, "lists": selectors.LISTS,
                                                       "method": METHOD})


@requires(WORK)
@require_POST
def case_open(request: SchoolRequest, school_slug: str) -> HttpResponse:
    form = OpenCaseForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return redirect("interventions:queue", school_slug)
    enrolment = get_object_or_404(Enrolment, school=request.school, pk=form.cleaned_data["enrolment"])
    try:
        case = services.case_open(school=request.school, enrolment=enrolment, by=request.user,
                                  reason=form.cleaned_data["reason"])
    except ValidationError as error:
        _fail(request, error)
        return redirect("interventions:queue", school_slug)
    messages.success(request, f"Case opened for {case.pupil.full_name}.")
    return _to_case(case)


# ---------------------------------------------------------------- a case


@requires(WORK)
@require_GET
def case_detail(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    view = selectors.case_view(school=request.school, case=case)
    context = selectors.pupil_context_get(school=request.school, pupil_id=case.pupil_id)
    invitees = "\n".join(f"{c.guardian.forename} {c.guardian.surname}, parent" for c in view.contacts
                         if c.parental_responsibility)
    from reporting.forecasts import METHOD

    return render(request, "interventions/case.html", {
        "v": view, "case": case, "staff": _staff(request), "forecast_method": METHOD,
        "note_form": NoteForm(auto_id="note-%s"),
        "meeting_form": MeetingForm(auto_id="meeting-%s", initial={
            "meeting_type": view.stage_now.meeting_type if view.stage_now else "", "invitees": invitees}),
        "record_form": MeetingRecordForm(auto_id="record-%s"),
        "rearrange_form": MeetingRearrangeForm(auto_id="rearrange-%s"),
        "contract_form": ContractForm(auto_id="contract-%s", initial={
            "kind": (view.stage_now.plan if view.stage_now and view.stage_now.plan else "contract"),
            "start": timezone.localdate(), "target_percent": 95}),
        "review_form": ContractReviewForm(auto_id="review-%s"),
        "support_form": SupportForm(auto_id="support-%s", initial={"offered_on": timezone.localdate()}),
        "close_form": CloseForm(auto_id="close-%s"),
        "context_form": PupilContextForm(auto_id="context-%s", instance=context),
    })


def _post_case(request: SchoolRequest, case_id: int, form_class: Any) -> tuple[Case, Any]:
    case = _case(request, case_id)
    return case, form_class(request.POST)


@requires(WORK)
@require_POST
def case_note(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, NoteForm)
    if not form.is_valid():
        _errors(request, form)
    else:
        try:
            services.case_note(case=case, kind=form.cleaned_data["kind"], by=request.user,
                               text=form.cleaned_data["text"])
            messages.success(request, "Added to the timeline.")
        except ValidationError as error:
            _fail(request, error)
    return _to_case(case)


@requires(WORK)
@require_POST
def case_stage(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, StageForm)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(case)
    stage = get_object_or_404(LadderStage, school=request.school, pk=form.cleaned_data["stage"])
    try:
        services.case_stage_move(case=case, stage=stage, by=request.user, roles=request.roles,
                                 why=form.cleaned_data["why"])
        messages.success(request, f"Moved to {stage.name}.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(case)


@requires(WORK)
@require_POST
def case_close(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, CloseForm)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(case)
    try:
        services.case_close(case=case, outcome=form.cleaned_data["outcome"], by=request.user,
                            why=form.cleaned_data["why"])
        messages.success(request, "Case closed.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(case)


@requires(WORK)
@require_POST
def case_owner(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, OwnerForm)
    staff = {u.pk: u for u in _staff(request)}
    if not form.is_valid() or form.cleaned_data["owner"] not in staff:
        messages.error(request, "Choose an attendance officer, the senior champion or the headteacher.")
        return _to_case(case)
    try:
        services.case_owner_set(case=case, owner=staff[form.cleaned_data["owner"]], by=request.user)
    except ValidationError as error:
        _fail(request, error)
    return _to_case(case)


@requires("send_letters")
@require_POST
def letter_propose(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    kind = request.POST.get("kind", Action.Kind.LETTER)
    try:
        action = services.stage_letter_propose(case=case, by=request.user, kind=kind)
    except ValidationError as error:
        _fail(request, error)
        return _to_case(case)
    return redirect("interventions:action", school_slug, action.pk)


@requires(WORK, write=("send_letters",))
@require_http_methods(["GET", "POST"])
def action_review(request: SchoolRequest, school_slug: str, action_id: int) -> HttpResponse:
    """Context review before a formal action: approve, change it, or record support instead."""
    action = get_object_or_404(Action.objects.select_related("case__pupil", "case__stage"),
                               school=request.school, pk=action_id)
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.action_decide(action=action, decision=form.cleaned_data["decision"], by=request.user,
                                       reason=form.cleaned_data["reason"], title=form.cleaned_data["title"],
                                       support_kind=form.cleaned_data["support_kind"])
                messages.success(request, f"{action.get_status_display()}: {action.title}.")
                return _to_case(action.case)
            except ValidationError as error:
                action.refresh_from_db()  # nothing was written; show it as it is
                _fail(request, error)
        else:
            _errors(request, form)
    context = selectors.context_for(school=request.school, case=action.case)
    return render(request, "interventions/action.html", {"action": action, "ctx": context, "form": form},
                  status=400 if request.method == "POST" else 200)


@requires("send_letters")
@require_POST
def bulk_propose(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """Step one of a bulk action: propose the stage letter of each selected case, then review them."""
    ids = [int(x) for x in request.POST.getlist("cases") if x.isdigit()]
    form = BulkForm(request.POST, case_ids=ids)
    if not ids or not form.is_valid():
        messages.error(request, "Select at least one case.")
        return redirect("interventions:queue", school_slug)
    actions, skipped = services.bulk_letters_propose(school=request.school, case_ids=form.cleaned_data["cases"],
                                                     by=request.user)
    for line in skipped:
        messages.error(request, line)
    return render(request, "interventions/bulk_review.html", {
        "rows": [(a, selectors.context_for(school=request.school, case=a.case)) for a in actions]})


@requires("send_letters")
@require_POST
def bulk_approve(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """Step two: approve the reviewed letters that were not held (held ones need their own review)."""
    ids = [int(x) for x in request.POST.getlist("actions") if x.isdigit()]
    form = BulkApproveForm(request.POST, action_ids=ids)
    if not ids or not form.is_valid():
        messages.error(request, "Select at least one letter to approve.")
        return redirect("interventions:queue", school_slug)
    approved = 0
    for action in Action.objects.filter(school=request.school, pk__in=form.cleaned_data["actions"],
                                        status=Action.Status.PROPOSED).select_related("case"):
        services.action_decide(action=action, decision="approve", by=request.user,
                               reason=form.cleaned_data["reason"])
        approved += 1
    messages.success(request, f"{approved} letter{'s' if approved != 1 else ''} approved to send.")
    return redirect("interventions:queue", school_slug)


# ---------------------------------------------------------------- meetings, contracts, support, clocks


@requires(WORK)
@require_POST
def meeting_create(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, MeetingForm)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(case)
    try:
        services.meeting_create(case=case, by=request.user, **form.cleaned_data)
        messages.success(request, "Meeting arranged; its invitation is waiting for approval.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(case)


@requires(WORK)
@require_POST
def meeting_record(request: SchoolRequest, school_slug: str, meeting_id: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.select_related("case__stage__ladder"), school=request.school,
                                pk=meeting_id)
    form = MeetingRecordForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(meeting.case)
    try:
        services.meeting_record(meeting=meeting, by=request.user, roles=request.roles, **form.cleaned_data)
        messages.success(request, "Meeting recorded.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(meeting.case)


@requires(WORK)
@require_POST
def meeting_rearrange(request: SchoolRequest, school_slug: str, meeting_id: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.select_related("case"), school=request.school,
                                pk=meeting_id)
    form = MeetingRearrangeForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(meeting.case)
    try:
        services.meeting_rearrange(meeting=meeting, by=request.user, **form.cleaned_data)
        messages.success(request, "Meeting moved; the letter with the new time waits for approval.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(meeting.case)


@requires(WORK)
@require_POST
def contract_create(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, ContractForm)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(case)
    try:
        services.contract_create(case=case, by=request.user, **form.cleaned_data)
        messages.success(request, "Agreed. It is waiting for approval to send for signature.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(case)


@requires(WORK)
@require_POST
def contract_review(request: SchoolRequest, school_slug: str, contract_id: int) -> HttpResponse:
    contract = get_object_or_404(AttendanceContract.objects.select_related("case__stage"), school=request.school,
                                 pk=contract_id)
    form = ContractReviewForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(contract.case)
    try:
        services.contract_review(contract=contract, outcome=form.cleaned_data["outcome"], by=request.user,
                                 why=form.cleaned_data["why"])
        messages.success(request, "Review recorded.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(contract.case)


@requires(WORK)
@require_POST
def support_add(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, SupportForm)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(case)
    try:
        services.support_record(case=case, by=request.user, **form.cleaned_data)
        messages.success(request, "Support recorded.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(case)


@requires(WORK)
@require_POST
def case_context(request: SchoolRequest, school_slug: str, case_id: int) -> HttpResponse:
    case, form = _post_case(request, case_id, PupilContextForm)
    if not form.is_valid():
        _errors(request, form)
        return _to_case(case)
    try:
        services.pupil_context_save(case=case, by=request.user, **form.cleaned_data)
        messages.success(request, "Context saved; every later review reads it.")
    except ValidationError as error:
        _fail(request, error)
    return _to_case(case)


@requires(WORK)
@require_POST
def clock_done(request: SchoolRequest, school_slug: str, clock_id: int) -> HttpResponse:
    clock = get_object_or_404(StatutoryClock.objects.select_related("case"), school=request.school, pk=clock_id)
    form = ClockDoneForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
    else:
        try:
            services.clock_done(clock=clock, by=request.user, note=form.cleaned_data["note"])
            messages.success(request, "Recorded as done.")
        except ValidationError as error:
            _fail(request, error)
    return _to_case(clock.case) if clock.case is not None else redirect("interventions:queue", school_slug)


# ---------------------------------------------------------------- the ladder and its preview


def _formset_errors(request: SchoolRequest, formset: Any) -> None:
    for error in formset.non_form_errors():
        messages.error(request, error)
    for n, form in enumerate(formset.forms, start=1):
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                messages.error(request, f"Stage {n}, {label.lower()}: {error}" if label else f"Stage {n}: {error}")


@requires(WORK, write=("edit_ladder",))
@require_http_methods(["GET", "POST"])
def ladder(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """The school's ladder, and a change to any of its stages (entry conditions, what it offers, who may
    move a case on, escalation): preview what it would do to today's data, then save it as a new ladder from
    a day. The preview writes nothing."""
    school = request.school
    today = timezone.localdate()
    current = selectors.ladder_for(school=school, day=today)
    stages = selectors.ladder_stages(ladder=current)
    initial: dict[str, Any] = {"effective_from": today}
    if current is not None:
        initial |= {"name": current.name, "punctuality_letter": current.punctuality_letter,
                    "praise_letter": current.praise_letter}
    form = LadderForm(request.POST or None, initial=initial)
    formset = cast(BaseLadderStageFormSet, LadderStageFormSet(request.POST or None,
                                                              initial=ladder_stage_initial(stages), prefix="stages"))
    context: dict[str, Any] = {"ladder": current, "stages": stages, "form": form, "formset": formset,
                               "preview": None, "can_edit": can(request.user, "edit_ladder", school)}
    status = 200
    if request.method == "POST":
        if current is None:
            messages.error(request, "This school has no ladder yet.")
            return render(request, "interventions/ladder.html", context, status=400)
        valid = form.is_valid() & formset.is_valid()  # both, so every message shows
        if not valid:
            _errors(request, form)
            _formset_errors(request, formset)
            return render(request, "interventions/ladder.html", context, status=400)
        proposed = formset.stages()
        letters = {name: form.cleaned_data[name] for name in ("punctuality_letter", "praise_letter")}
        if "save" in request.POST:
            try:
                services.ladder_change(school=school, stages=proposed, name=form.cleaned_data["name"],
                                       effective_from=form.cleaned_data["effective_from"], by=request.user,
                                       **letters)
                messages.success(request, f"Ladder saved, in force from "
                                          f"{form.cleaned_data['effective_from']:%-d %B %Y}. New actions follow it; "
                                          "cases keep the stages they went through.")
                return redirect("interventions:ladder", school_slug)
            except ValidationError as error:
                _fail(request, error)
                status = 400
        context["preview"] = selectors.ladder_preview(
            school=school, stages=[LadderStage(position=n, **spec) for n, spec in enumerate(proposed, start=1)],
            praise_letter=letters["praise_letter"], compare=current, today=today)
    return render(request, "interventions/ladder.html", context, status=status)


# ---------------------------------------------------------------- parents


@require_GET
def parent_letters(request: HttpRequest, pupil_id: int) -> HttpResponse:
    """What the school sent a parent about their own child: letters, meeting invitations, contracts."""
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    child = parent_child_get(user=request.user, pupil_id=pupil_id)
    with scope(school=child.school):
        documents = selectors.parent_documents(pupil=child)
        sent = {letter.pk: letter for letter in letters_sent_to_parent(user=request.user, pupil=child)}
        return render(request, "interventions/parent_letters.html", {
            "child": child, "documents": [(d, [sent[i] for i in d.letter_ids if i in sent]) for d in documents]})
