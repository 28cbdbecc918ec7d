"""Marking pages. Thin: they check the role, read the request and call `registers.marking`.

Every page works as a plain form without JavaScript; htmx requests get just the changed fragment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from attendance_portal.http import SchoolRequest
from attendance_portal.models import School
from attendance_portal.permissions import can, requires, roles_for
from attendance_portal.roles import Role
from attendance_portal.tenancy import school_objects

from . import codes
from .calendar import academic_year_for, school_day_latest, school_days_either_side, school_sessions
from .forms import AmendForm, ClosureForm, LateArrivalForm
from .marking import (
    LateArrivalError,
    Register,
    RegisterOutcome,
    RegisterStatus,
    at_london,
    closure_plan,
    closure_problem,
    closure_record_unexpected,
    late_arrival_record,
    local_now,
    local_today,
    pupils_enrolled,
    register_build,
    register_lock_rows,
    register_marks_refresh,
    register_page_state,
    register_parse_form,
    register_save,
    register_shows_stored,
    register_statuses,
)
from .models import AcademicYear, Mark, Pupil, RegistrationGroup
from .selectors import mark_history, pupil_year_grid
from .services import MarkEntry, MarkValidationError, marks_save

SEARCH_LIMIT = 25


def _day_from(request: SchoolRequest) -> tuple[dt.date, str]:
    """The day a daily page shows: ?date=, else today, else (on a weekend or holiday) the last school day."""
    raw = request.GET.get("date", "")
    if raw:
        try:
            return dt.date.fromisoformat(raw), ""
        except ValueError:
            return local_today(), f"'{raw}' is not a date; showing today instead."
    return school_day_latest(school=request.school, day=local_today()), ""


def _day_note(day: dt.date) -> str:
    today = local_today()
    if day == today or day > today:
        return ""
    return f"Today ({today:%A %d %B}) is not a school day, so this shows {day:%A %d %B}, the last school day."


def _neighbours(school: School, day: dt.date) -> dict[str, dt.date]:
    """The school days either side, for the ← and → links (a plain day either side if none is near)."""
    previous, following = school_days_either_side(school=school, day=day)
    return {"previous": previous or day - dt.timedelta(days=1), "next": following or day + dt.timedelta(days=1)}


# --- registers of a day -----------------------------------------------------------------------


def _closed_day(school: School, day: dt.date, statuses: list[Any]) -> dict[str, Any]:
    """On a day with no sessions at all, one line and the next school day instead of a table of blanks."""
    if not statuses or any(s.state != "closed" for s in statuses):
        return {}
    upcoming = school_sessions(school=school, start=day + dt.timedelta(days=1), end=day + dt.timedelta(days=60))
    return {"closed_reason": statuses[0].closed_reason, "next_school_day": upcoming[0][0] if upcoming else None}


def _own_groups_first(request: SchoolRequest, statuses: list[RegisterStatus]) -> dict[str, Any]:
    """The groups the viewer teaches first ("own"), every other group after them ("others"): a teacher may still
    open any group's register, to cover. Someone who teaches no group (the office) has one list of them all."""
    from staff.selectors import group_teachers

    teachers = group_teachers(school=request.school)
    for status in statuses:
        status.teachers = teachers.get(status.group.pk, [])  # type: ignore[attr-defined]  # shown beside the group
    mine = {group_id for group_id, people in teachers.items() if any(p.pk == request.user.pk for p in people)}
    own = [s for s in statuses if s.group.pk in mine]
    return {"own": own, "others": [s for s in statuses if s.group.pk not in mine],
            "unlinked_teacher": not own and Role.CLASS_TEACHER in roles_for(request.user, request.school)}


@requires("mark_register")
def register_index(request: SchoolRequest, school_slug: str) -> HttpResponse:
    day, problem = _day_from(request)
    statuses = register_statuses(school=request.school, day=day)
    return render(request, "registers/index.html", {
        "day": day, "problem": problem, "statuses": statuses, **_closed_day(request.school, day, statuses),
        **_own_groups_first(request, statuses), **_neighbours(request.school, day),
        "day_note": "" if request.GET.get("date") else _day_note(day),
        "today": local_today(), "may_board": can(request.user, "view_register_board", request.school),
    })


# Polled by every office all morning, and only reads: no request-wide transaction (no BEGIN and COMMIT round trips).
@transaction.non_atomic_requests
@requires("view_register_board")
def register_board(request: SchoolRequest, school_slug: str) -> HttpResponse:
    day, problem = _day_from(request)
    now = local_now()
    statuses = register_statuses(school=request.school, day=day, now=now)
    context = {
        "day": day, "problem": problem, "statuses": statuses, "now": now, **_neighbours(request.school, day),
        "day_note": "" if request.GET.get("date") else _day_note(day),
        **_closed_day(request.school, day, statuses), **_own_groups_first(request, statuses),
        "incomplete": sum(1 for s in statuses if s.state in ("not_started", "in_progress")),
        "overdue": sum(1 for s in statuses if s.overdue),
        "may_close": can(request.user, "manage_school", request.school),
    }
    template = "registers/_board.html" if request.htmx else "registers/board.html"
    return render(request, template, context)


# --- one register -----------------------------------------------------------------------------


def _render_register(request: SchoolRequest, register: Register, *, status: int = 200,
                     notice: str = "", outcome: RegisterOutcome | None = None) -> HttpResponse:
    from interventions.selectors import case_flags

    stages = case_flags(school=request.school, pupil_ids=[row.pupil.pk for row in register.rows])
    for row in register.rows:
        row.case_stage = stages.get(row.pupil.pk, "")
    context = {
        "register": register, "notice": notice, "outcome": outcome,
        "may_amend": can(request.user, "amend_mark", request.school),
        "window": register.window,
        "reason": request.POST.get("reason", "") if outcome and not outcome.ok else "",
    }
    template = "registers/_register.html" if request.htmx else "registers/register.html"
    return render(request, template, context, status=status)


def _render_saved(request: SchoolRequest, register: Register, *, notice: str) -> HttpResponse:
    """The answer to a save the open page already shows: the notice, the count, each row's new version and
    links, swapped in out of band (a few KB instead of redrawing some 100 KB of register). register.js
    then marks the rows as saved."""
    response = render(request, "registers/_register_saved.html", {
        "register": register, "notice": notice, "may_amend": can(request.user, "amend_mark", request.school),
    })
    response["HX-Reswap"] = "none"
    response["HX-Trigger-After-Settle"] = "register-saved"
    return response


def _refresh(request: SchoolRequest, reg: Register) -> Register:
    """The register after a save: its marks read again (one query), the rows this person may not change
    locked again; the rest of it is as built for the save."""
    register_marks_refresh(school=request.school, register=reg)
    register_lock_rows(register=reg, user=request.user, may_amend=can(request.user, "amend_mark", request.school))
    return reg


def _build(request: SchoolRequest, group: RegistrationGroup, date: dt.date, session: str) -> Register:
    """The register as this person sees it: the codes their role enters, and the rows they may change."""
    from staff.selectors import codes_allowed

    school = request.school
    reg = register_build(school=school, group=group, day=date, session=session,
                         allowed=codes_allowed(school=school, user=request.user))
    register_lock_rows(register=reg, user=request.user, may_amend=can(request.user, "amend_mark", school))
    return reg


# Not one transaction per request, unlike the other views: opening a register only reads, and a save's one
# write is its own transaction (`marks_save`), so the morning's two hottest requests skip the BEGIN/COMMIT
# and savepoint round trips. Nothing else on this view writes.
@transaction.non_atomic_requests
@requires("mark_register")
def register(request: SchoolRequest, school_slug: str, group_id: int, date: dt.date, session: str) -> HttpResponse:
    school = request.school
    found = school_objects(RegistrationGroup, school_id=school.pk, where="t.id = %(id)s", params={"id": group_id},
                           prepared="register_group")
    if not found:
        raise Http404("No such registration group")
    reg = _build(request, found[0], date, session)
    if request.method != "POST":
        return _render_register(request, reg)

    fill_present = request.POST.get("fill") == "present"
    before = register_page_state(reg)
    submitted = register_parse_form(register=reg, data=request.POST, fill_present=fill_present)
    outcome = RegisterOutcome(errors=dict(submitted.errors))
    if not outcome.errors:
        outcome = register_save(
            school=school, register=reg, entries=submitted.entries, by=request.user,
            reason=request.POST.get("reason", ""), may_amend=can(request.user, "amend_mark", school),
        )
    if not outcome.ok:
        # Nothing was written: show what was typed, with the problems next to each pupil.
        for row in reg.rows:
            if row.pupil.pk in submitted.typed:
                row.code, row.minutes, row.note = submitted.typed[row.pupil.pk]
            row.error = outcome.errors.get(row.pupil.pk, "")
        notice = outcome.message or "Nothing was saved. Correct the rows marked below and save again."
        return _render_register(request, reg, status=200 if request.htmx else 400,
                                notice=notice, outcome=outcome)

    result = outcome.result
    saved = (result.written if result else 0)
    summary = f"Register saved: {saved} mark{'s' if saved != 1 else ''} recorded or changed."
    if result and result.conflicts:
        reg = _refresh(request, reg)
        for conflict in result.conflicts:
            conflicted = reg.row_for(conflict.entry.pupil_id)
            if conflicted is not None:
                conflicted.conflict = conflict
        notice = (f"{summary} {len(result.conflicts)} pupil{'s were' if len(result.conflicts) != 1 else ' was'} "
                  "changed by someone else while you were marking: their current value is shown; check and save again.")
        return _render_register(request, reg, status=200, notice=notice, outcome=outcome)
    if request.htmx:
        reg = _refresh(request, reg)
        notice = summary + (" The register is complete." if reg.complete else "")
        if not fill_present and register_shows_stored(register=reg, before=before, submitted=submitted,
                                                      data=request.POST):
            return _render_saved(request, reg, notice=notice)
        return _render_register(request, reg, notice=notice)
    messages.success(request, summary)
    return redirect(request.get_full_path())


# --- late arrivals ----------------------------------------------------------------------------


@requires("mark_register")
def late_arrival(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    now = local_now()
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()
    matches: QuerySet[Pupil] | list[Pupil] | None = None
    if query:
        words = query.split()
        found = pupils_enrolled(school=school, day=now.date()).select_related("registration_group")
        for word in words[:3]:
            found = found.filter(Q(forename__icontains=word) | Q(surname__icontains=word))
        matches = found.order_by("surname", "forename")[:SEARCH_LIMIT]
    if request.method == "POST":
        form = LateArrivalForm(request.POST, school=school)
        if form.is_valid():
            pupil = form.cleaned_data["pupil"]
            arrived = at_london(form.cleaned_data["date"], form.cleaned_data["time"])
            try:
                done = late_arrival_record(school=school, pupil=pupil, arrived=arrived, by=request.user,
                                           may_amend=can(request.user, "amend_mark", school))
            except LateArrivalError as exc:
                form.add_error(None, str(exc))
            else:
                late = "before" if done.code == "L" else "after"
                messages.success(request, (
                    f"{pupil.full_name} signed in at {done.arrived:%H:%M}: {done.code} for the {done.session} "
                    f"register, {done.minutes_late} minutes late (arrived {late} the register closed)."))
                return redirect(reverse("registers:late", args=[school.slug]))
        status = 400
        chosen = getattr(form, "cleaned_data", {}).get("pupil")
        if matches is None and chosen is not None:
            matches = [chosen]
    else:
        form = LateArrivalForm(school=school, initial={"date": now.date(), "time": now.strftime("%H:%M")})
        status = 200
    if matches is not None:
        matches = list(matches)
        if len(matches) == 1 and not form.is_bound:
            form.initial["pupil"] = matches[0].pk  # one match: ready to sign in with one key press
        form.fields["pupil"].queryset = Pupil.objects.filter(pk__in=[p.pk for p in matches])  # type: ignore[attr-defined]  # a ModelChoiceField; form fields are typed as Field
    return render(request, "registers/late.html", {"form": form, "query": query, "matches": matches,
                                                   "now": now}, status=status)


# --- whole-school unexpected closure ----------------------------------------------------------


@requires("manage_school")
def unexpected_closure(request: SchoolRequest, school_slug: str) -> HttpResponse:
    school = request.school
    if request.method != "POST":
        form = ClosureForm(initial={"date": local_today(), "session": "PM" if local_now().hour >= 12 else "AM"})
        return render(request, "registers/closure.html", {"form": form})
    form = ClosureForm(request.POST)
    if not form.is_valid():
        return render(request, "registers/closure.html", {"form": form}, status=400)
    day, session, reason = form.cleaned_data["date"], form.cleaned_data["session"], form.cleaned_data["reason"]
    problem = closure_problem(school=school, day=day, session=session)
    if problem:
        form.add_error("date", problem)
        return render(request, "registers/closure.html", {"form": form}, status=400)
    if request.POST.get("confirm") != "yes":
        plan = closure_plan(school=school, day=day, session=session)
        return render(request, "registers/closure.html", {"form": form, "plan": plan, "confirming": True})
    try:
        result = closure_record_unexpected(school=school, day=day, session=session, reason=reason,
                                           by=request.user)
    except MarkValidationError as exc:
        form.add_error(None, f"Nothing was recorded: {exc.errors[0].message}")
        return render(request, "registers/closure.html", {"form": form}, status=400)
    text = (f"Unexpected closure recorded for {day:%A %d %B %Y} {session}: "
            f"{result.created} pupils marked Y4, {result.amended} marks amended.")
    if result.conflicts:
        text += f" {len(result.conflicts)} marks changed while this was saving; record the closure again for them."
    messages.success(request, text)
    return redirect(reverse("registers:board", args=[school.slug]) + f"?date={day.isoformat()}")


# --- amendments and history -------------------------------------------------------------------


@requires("view_pupils")
def pupil_history(request: SchoolRequest, school_slug: str, pupil_id: int) -> HttpResponse:
    school = request.school
    pupil = get_object_or_404(Pupil.objects.filter(school=school).select_related("registration_group"), pk=pupil_id)
    years = list(AcademicYear.objects.filter(school=school).order_by("start"))
    wanted = request.GET.get("year", "")
    # Without a chosen year the grid shows the current one; in the September gap before the next year is set
    # up there is none, and the page shows the latest year that has started (as its own choice, not as current).
    today = local_today()
    year = next((y for y in years if str(y.start.year) == wanted), None) or academic_year_for(
        school=school, day=today) or next((y for y in reversed(years) if y.start <= today), None)
    amendments = [r for r in mark_history(school=school, pupil_id=pupil.pk) if r["label"] == "amended"]
    return render(request, "registers/history.html", {
        "pupil": pupil, "rows": amendments, "may_amend": can(request.user, "amend_mark", school),
        "year": year, "years": years,
        "categories": [(c.value, c.value.replace("_", " ").capitalize()) for c in codes.Category],
        "grid": pupil_year_grid(school=school, pupil_id=pupil.pk, year=year) if year else [],
        "days": range(1, 32),
    })


@requires("amend_mark")
def amend_mark(request: SchoolRequest, school_slug: str, pupil_id: int, date: dt.date, session: str) -> HttpResponse:
    school = request.school
    pupil = get_object_or_404(Pupil.objects.filter(school=school).select_related("registration_group"), pk=pupil_id)
    mark = Mark.objects.filter(school=school, pupil=pupil, date=date, session=session).first()
    back = _safe_next(request) or reverse("registers:pupil_history", args=[school.slug, pupil.pk])
    context: dict[str, Any] = {"pupil": pupil, "mark": mark, "day": date, "session": session, "back": back}
    if request.method != "POST":
        initial = {"version": mark.version, "code": mark.code, "minutes_late": mark.minutes_late,
                   "note": mark.note} if mark else {}
        context["form"] = AmendForm(initial=initial, day=date, session=session, has_mark=mark is not None,
                                    ahead=date > local_today())
        return render(request, "registers/amend.html", context)
    form = AmendForm(request.POST, day=date, session=session, has_mark=mark is not None, ahead=date > local_today())
    context["form"] = form
    if not form.is_valid():
        return render(request, "registers/amend.html", context, status=400)
    data = form.cleaned_data
    entry = MarkEntry(pupil_id=pupil.pk, date=date, session=session, code=data["code"],
                      minutes_late=data["minutes_late"], note=data["note"].strip(),
                      expected_version=data["version"])
    try:
        result = marks_save(school=school, entries=[entry], by=request.user,
                            reason=data["reason"], source="amendment")
    except MarkValidationError as exc:
        form.add_error(None, exc.errors[0].message)
        return render(request, "registers/amend.html", context, status=400)
    if result.conflicts:
        c = result.conflicts[0]
        current = Mark.objects.filter(school=school, pupil=pupil, date=date, session=session).first()
        retry = request.POST.copy()
        retry["version"] = str(current.version) if current else ""
        form = AmendForm(retry, day=date, session=session, has_mark=current is not None, ahead=date > local_today())
        form.is_valid()
        context.update(form=form, mark=current)
        form.add_error(None, (
            f"Someone else changed this mark while you were editing: it is now {c.current_code or 'blank'}"
            f"{f' ({c.current_minutes_late} minutes late)' if c.current_minutes_late is not None else ''}. "
            "Nothing was saved; check the current value and try again."))
        return render(request, "registers/amend.html", context, status=409)
    if result.written:
        messages.success(request, f"Mark for {pupil.full_name}, {date:%d %B %Y} {session}, saved as {entry.code}.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect(back)


def _safe_next(request: SchoolRequest) -> str:
    """Only a path inside this school, so the link cannot send anyone elsewhere."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    prefix = f"/s/{request.school.slug}/"
    return target if target.startswith(prefix) and "//" not in target and "\\" not in target else ""
