"""Reads for calendars, register times, pupils, marks, the history of marks and the admission register."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django_scopes import scopes_disabled

from attendance_portal.models import School, User

from . import codes
from .calendar import session_closures
from .models import (
    AcademicYear,
    Closure,
    Enrolment,
    Guardian,
    Mark,
    MarkEvent,
    Pupil,
    PupilContact,
    RegistrationGroup,
    SchoolPolicy,
    Term,
    year_group_order,
)


def registration_groups(*, school: School) -> list[RegistrationGroup]:
    """The school's groups in the order every page lists them: by year group (Reception before Year 1, Year 2
    before Year 10), then by name."""
    return sorted(RegistrationGroup.objects.filter(school=school),
                  key=lambda g: (year_group_order(g.year_group), g.name))


def guardian_school_ids(*, user: User) -> list[int]:
    """The schools where this account is linked to a guardian record: the scope of the parent portal.

    The one read across schools for a parent, who is no school's member: their own links name the schools.
    """
    with scopes_disabled():
        return sorted(set(Guardian.objects.filter(user=user).values_list("school_id", flat=True)))


def policy_for(*, school: School, day: dt.date) -> SchoolPolicy:
    """The policy in force on `day`; an unsaved default policy when the school has none yet."""
    return policies_for(schools=[school], day=day)[school.pk]


def policies_for(*, schools: list[School], day: dt.date) -> dict[int, SchoolPolicy]:
    """The policy in force on `day` for each school (an unsaved default where it has none yet), in one
    query, by school id."""
    with scopes_disabled():
        found = {p.school_id: p for p in SchoolPolicy.objects.filter(school__in=[s.pk for s in schools],
                                                                     effective_from__lte=day)
                 .order_by("school_id", "-effective_from").distinct("school_id")}
    return {s.pk: found.get(s.pk) or SchoolPolicy(school=s, effective_from=day) for s in schools}


# How each writer of marks is named in a pupil's history; a plain register save or amendment needs no label.
SOURCE_LABELS = {"late_arrival": "late sign-in", "unexpected_closure": "unexpected closure",
                 "absence": "parent's report", "leave": "leave decision", "first_day": "absence follow-up",
                 "import": "import"}


def mark_history(*, school: School, pupil_id: int) -> list[dict[str, object]]:
    """Every recorded and amended entry for a pupil, newest first, each with the value it replaced."""
    events = list(
        MarkEvent.objects.filter(school=school, pupil_id=pupil_id).order_by("pgh_obj_id", "pgh_id")
    )
    previous: dict[int, MarkEvent] = {}
    rows = []
    for ev in events:
        before = previous.get(ev.pgh_obj_id)
        ctx = ev.pgh_context or {}
        rows.append({
            "date": ev.date, "session": ev.session, "at": ev.pgh_created_at, "label": ev.pgh_label,
            "original": before.code if before else None,
            "original_minutes_late": before.minutes_late if before else None,
            "new": ev.code, "minutes_late": ev.minutes_late, "note": ev.note,
            "reason": ctx.get("reason", ""), "name": ctx.get("name", ""), "position": ctx.get("position", ""),
            "source": ctx.get("source", ""), "version": ev.version, "event_id": ev.pgh_id,
            "source_label": SOURCE_LABELS.get(ctx.get("source", ""), ""),
        })
        previous[ev.pgh_obj_id] = ev
    rows.sort(key=lambda r: r["event_id"], reverse=True)  # event ids follow commit order within a school
    return rows


@dataclass(frozen=True)
class GridCell:
    day: dt.date | None  # None: the month has no such day (30 February)
    am: str = ""  # the code, or "" when no mark
    pm: str = ""
    closed: bool = False  # no school session that day

    def category(self, code: str) -> str:
        found = codes.CODES.get(code)
        return found.category.value if found else ""

    @property
    def am_category(self) -> str:
        return self.category(self.am)

    @property
    def pm_category(self) -> str:
        return self.category(self.pm)


@dataclass(frozen=True)
class GridMonth:
    first: dt.date
    cells: list[GridCell]


def pupil_year_grid(*, school: School, pupil_id: int, year: AcademicYear) -> list[GridMonth]:
    """A pupil's marks for an academic year as a month × day grid with AM and PM. Three queries."""
    marks = {(d, s): c for d, s, c in Mark.objects.filter(school=school, pupil_id=pupil_id,
                                                          date__range=(year.start, year.end))
             .values_list("date", "session", "code")}
    closed = session_closures(school=school, start=year.start, end=year.end)
    months = []
    first = year.start.replace(day=1)
    while first <= year.end:
        cells = []
        for n in range(1, 32):
            try:
                day = first.replace(day=n)
            except ValueError:
                cells.append(GridCell(None))
                continue
            cells.append(GridCell(day, marks.get((day, "AM"), ""), marks.get((day, "PM"), ""),
                                  closed=(day, "AM") in closed and (day, "PM") in closed))
        months.append(GridMonth(first, cells))
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return months


# --- school set-up and imports --------------------------------------------------------------
# (Imports kept with this appended section so it stays one self-contained block.)


from .models import ImportBatch  # noqa: E402


def calendar_years(*, school: School) -> list[AcademicYear]:
    """Academic years, newest first, each with its terms (two queries)."""
    terms = Prefetch("terms", queryset=Term.objects.filter(school=school).order_by("start"))
    return list(AcademicYear.objects.filter(school=school).order_by("-start").prefetch_related(terms))


def closures_from(*, school: School, day: dt.date) -> list[Closure]:
    """Planned closures on or after `day`, soonest first."""
    return list(Closure.objects.filter(school=school, date__gte=day).order_by("date", "session"))


def import_batches_recent(*, school: School, limit: int = 10) -> list[ImportBatch]:
    found = ImportBatch.objects.filter(school=school).select_related("created_by").order_by("-created_at")
    return list(found[:limit])


# --------------------------------------------------------------------------- history across pupils (the amendments API)


def mark_events(
    *, school: School, date_from: dt.date, date_to: dt.date, pupil_id: int | None = None,
    group_id: int | None = None, amended_only: bool = False,
) -> list[dict[str, object]]:
    """History entries for marks of sessions in a date range, each with the value it replaced. One query.

    Every event of a mark in the range is read, so an amendment's original is always known.
    """
    events = MarkEvent.objects.filter(school=school, date__range=(date_from, date_to))
    if pupil_id is not None:
        events = events.filter(pupil_id=pupil_id)
    if group_id is not None:
        events = events.filter(pupil_id__in=Pupil.objects.filter(school=school, registration_group_id=group_id)
                               .values("pk"))
    previous: dict[int, MarkEvent] = {}
    rows = []
    for ev in events.order_by("pgh_obj_id", "pgh_id"):
        before = previous.get(ev.pgh_obj_id)
        ctx = ev.pgh_context or {}
        previous[ev.pgh_obj_id] = ev
        if amended_only and ev.pgh_label != "amended":
            continue
        rows.append({
            "event_id": ev.pgh_id, "label": ev.pgh_label, "at": ev.pgh_created_at, "pupil": ev.pupil_id,
            "date": ev.date, "session": ev.session,
            "original": before.code if before else None,
            "original_minutes_late": before.minutes_late if before else None,
            "new": ev.code, "minutes_late": ev.minutes_late, "note": ev.note, "version": ev.version,
            "reason": ctx.get("reason", ""), "name": ctx.get("name", ""), "position": ctx.get("position", ""),
            "source": ctx.get("source", ""),
        })
    rows.sort(key=lambda r: r["event_id"])
    return rows


# --------------------------------------------------------------------------- the admission register


class Status:
    ON_ROLL = "on_roll"
    LEFT = "left"
    ALL = "all"


def admission_register(*, school: School, group_id: int | None = None, year_group: str = "",
                       status: str = Status.ON_ROLL, search: str = "",
                       day: dt.date | None = None) -> QuerySet[Pupil]:
    """Pupils with their latest admission register entry, in one query whatever the page size."""
    day = day or timezone.localdate()
    latest = Enrolment.objects.filter(school=school, pupil=OuterRef("pk")).order_by("-admission_date")
    on_roll = Enrolment.objects.filter(school=school, pupil=OuterRef("pk")).filter(
        Q(leaving_date__isnull=True) | Q(leaving_date__gte=day))
    pupils = (Pupil.objects.filter(school=school).select_related("registration_group")
              .annotate(admitted=Subquery(latest.values("admission_date")[:1]),
                        left_on=Subquery(latest.values("leaving_date")[:1]),
                        registration_type=Subquery(latest.values("registration_type")[:1]),
                        on_roll=Exists(on_roll)))
    if group_id:
        pupils = pupils.filter(registration_group_id=group_id)
    if year_group:
        pupils = pupils.filter(year_group=year_group)
    if status == Status.ON_ROLL:
        pupils = pupils.filter(on_roll=True)
    elif status == Status.LEFT:
        pupils = pupils.filter(on_roll=False)
    for word in search.split()[:4]:
        pupils = pupils.filter(Q(forename__icontains=word) | Q(surname__icontains=word) | Q(upn__iexact=word))
    return pupils.order_by("surname", "forename", "pk")


def pupil_detail(*, school: School, pupil_id: int) -> Pupil:
    """One pupil with enrolments and contacts (priority order) prefetched; raises Pupil.DoesNotExist."""
    return (Pupil.objects.filter(school=school).select_related("registration_group")
            .prefetch_related(
                Prefetch("enrolments", queryset=Enrolment.objects.filter(school=school).order_by("admission_date")),
                Prefetch("contacts", queryset=PupilContact.objects.filter(school=school)
                         .select_related("guardian", "guardian__user").order_by("priority", "pk")))
            .get(pk=pupil_id))
