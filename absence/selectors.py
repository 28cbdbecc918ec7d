"""Reads for absence follow-up: incoming reports, unexplained absences, aged N codes, parents' children.

Lists are built from a fixed number of set-based queries whatever the number of pupils listed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone

from attendance_portal.models import School, User
from registers import codes
from registers.calendar import calendar_for, school_sessions, session_closures
from registers.models import Mark, Pupil, PupilContact, SessionTimes
from registers.selectors import policy_for
from reporting.figures import Figures
from reporting.selectors import figures_by_pupil

from .models import AbsenceReport, ContactAttempt, LeaveRequest, MedicalEvidenceRequest, SentMessage, Sessions

DEFAULT_CLOSE = {"AM": dt.time(9, 0), "PM": dt.time(13, 30)}


# ---------------------------------------------------------------- parents


def parent_children(*, user: User) -> list[Pupil]:
    """Every child linked to this parent account, in every school and trust.

    A parent is not a school member: the scope open is that of the schools where the account is a
    guardian (the parent portal's middleware), and the guardian link is the filter, stated here.
    """
    if not user.is_authenticated:
        return []
    return list(
        Pupil.objects.filter(contacts__guardian__user=user)
        .select_related("school", "registration_group")
        .distinct()
        .order_by("forename", "surname")
    )


def parent_child_get(*, user: User, pupil_id: int) -> Pupil:
    """One of the parent's own children, or 404 — the same answer for a child who does not exist."""
    found = (
        Pupil.objects.filter(pk=pupil_id, contacts__guardian__user=user)
        .select_related("school", "registration_group")
        .first()
    )
    if found is None:
        raise Http404("No such child")
    return found


def parent_guardian_for(*, user: User, pupil: Pupil) -> Any:
    """The guardian record linking this parent to this child (caller has the child's scope open)."""
    contact = (
        PupilContact.objects.filter(school=pupil.school, pupil=pupil, guardian__user=user)
        .select_related("guardian").first()
    )
    return contact.guardian if contact else None


# ---------------------------------------------------------------- attendance figures


def attendance_figures(
    *, school: School, pupil_ids: Iterable[int], today: dt.date | None = None
) -> dict[int, Figures]:
    """Academic year to date, per pupil, in one query: the statistics engine's figures
    (`reporting.figures`, read from the summaries), summed over the pupil's enrolments at this school."""
    today = today or timezone.localdate()
    ids = list(pupil_ids)
    if not ids:
        return {}
    calendar = calendar_for(school=school)
    year = calendar.year_for(today)
    if year is None or today < year.start:
        return {}
    return figures_by_pupil(school=school, pupil_ids=ids, start=year.start, end=min(today, year.end),
                            calendar=calendar)


# ---------------------------------------------------------------- report and request queues


def reports_pending(*, school: School) -> QuerySet[AbsenceReport]:
    return (
        AbsenceReport.objects.filter(school=school, status=AbsenceReport.Status.PENDING)
        .select_related("pupil", "pupil__registration_group", "guardian")
        .order_by("first_date", "created_at")
    )


def reports_recent(*, school: School, limit: int = 20) -> QuerySet[AbsenceReport]:
    return (
        AbsenceReport.objects.filter(school=school).exclude(status=AbsenceReport.Status.PENDING)
        .select_related("pupil", "decided_by").order_by("-decided_at")[:limit]
    )


def leave_pending(*, school: School) -> QuerySet[LeaveRequest]:
    return (
        LeaveRequest.objects.filter(school=school, status=LeaveRequest.Status.PENDING)
        .select_related("pupil", "pupil__registration_group")
        .order_by("first_date", "created_at")
    )


def leave_refused_open(*, school: School, today: dt.date) -> QuerySet[LeaveRequest]:
    """Refused requests whose dates have started: the office checks whether the leave was taken."""
    return (
        LeaveRequest.objects.filter(school=school, status=LeaveRequest.Status.REFUSED, first_date__lte=today)
        .select_related("pupil").order_by("first_date")
    )


def leave_previous_counts(*, school: School, pupil_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """How many earlier requests each pupil has had, by outcome (one query)."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        LeaveRequest.objects.filter(school=school, pupil_id__in=list(pupil_ids))
        .exclude(status=LeaveRequest.Status.PENDING)
        .values("pupil_id", "status").annotate(n=Count("id")).order_by()
    )
    for r in rows:
        out[r["pupil_id"]][r["status"]] = r["n"]
    return out


def report_sessions(*, school: School, first: dt.date, last: dt.date, sessions: str) -> list[tuple[dt.date, str]]:
    """The school sessions a report or request covers."""
    which = Sessions(sessions)
    return [(d, s) for d, s in school_sessions(school=school, start=first, end=last) if which.covers(s)]


def closed_reason(*, school: School, first: dt.date, last: dt.date, sessions: str) -> str:
    """Why no session is covered, in words a parent understands ("INSET day", "weekend")."""
    closed = session_closures(school=school, start=first, end=last)
    reasons = sorted({why for (d, s), why in closed.items() if Sessions(sessions).covers(s)})
    return ", ".join(reasons) or "no school sessions"


# ---------------------------------------------------------------- report cut-off


def report_cutoff(*, school: School, pupil: Pupil, day: dt.date) -> dt.time:
    """The time a parent should report by: the policy's time, else when the pupil's AM register closes."""
    policy = policy_for(school=school, day=day)
    if policy.absence_report_cutoff is not None:
        return policy.absence_report_cutoff
    times = SessionTimes.objects.filter(school=school, year_group=pupil.year_group).first()
    return times.am_close if times else DEFAULT_CLOSE["AM"]


# ---------------------------------------------------------------- unexplained today


@dataclass
class UnexplainedRow:
    pupil: Pupil
    sessions: list[Mark]
    contacts: list[PupilContact]
    figures: Figures
    previous: list[tuple[dt.date, str]]  # (day, "AM/PM" codes) for the previous school days
    attempts: list[ContactAttempt] = field(default_factory=list)
    pending_report: AbsenceReport | None = None


@dataclass
class Unexplained:
    day: dt.date
    closed_sessions: list[str]
    waiting: list[tuple[str, dt.time]]  # sessions whose registers have not closed yet, with the last close
    rows: list[UnexplainedRow]
    previous_days: list[dt.date]


def _session_closes(school: School) -> dict[str, dict[str, dt.time]]:
    by_year: dict[str, dict[str, dt.time]] = {}
    for t in SessionTimes.objects.filter(school=school):
        by_year[t.year_group] = {"AM": t.am_close, "PM": t.pm_close}
    return by_year


def unexplained_today(*, school: School, now: dt.datetime | None = None, previous_days: int = 5) -> Unexplained:
    """Pupils with N for a session of today whose register (for their year group) has closed.

    A fixed number of queries: marks, times, contacts, figures, previous days, attempts, reports.
    """
    now = timezone.localtime(now)
    day, clock = now.date(), now.time()
    closes = _session_closes(school)
    marks = list(
        Mark.objects.filter(school=school, date=day, code=codes.NOT_ESTABLISHED)
        .select_related("pupil", "pupil__registration_group")
        .order_by("pupil__surname", "pupil__forename", "session")
    )
    by_pupil: dict[int, list[Mark]] = {}
    for m in marks:
        close = closes.get(m.pupil.year_group, DEFAULT_CLOSE)[m.session]
        if clock >= close:
            by_pupil.setdefault(m.pupil_id, []).append(m)
    latest = {s: max([c[s] for c in closes.values()] or [DEFAULT_CLOSE[s]]) for s in ("AM", "PM")}
    closed_sessions = [s for s in ("AM", "PM") if clock >= min([c[s] for c in closes.values()] or [DEFAULT_CLOSE[s]])]
    waiting = [(s, latest[s]) for s in ("AM", "PM") if clock < latest[s]]

    ids = list(by_pupil)
    contacts: dict[int, list[PupilContact]] = defaultdict(list)
    earlier = sorted({d for d, _ in school_sessions(school=school, start=day - dt.timedelta(days=21),
                                                                 end=day - dt.timedelta(days=1))})[-previous_days:]
    rows: list[UnexplainedRow] = []
    if ids:
        for c in (PupilContact.objects.filter(school=school, pupil_id__in=ids)
                  .select_related("guardian").order_by("pupil_id", "priority", "id")):
            contacts[c.pupil_id].append(c)
        figures = attendance_figures(school=school, pupil_ids=ids, today=day)
        prev: dict[tuple[int, dt.date], dict[str, str]] = defaultdict(dict)
        if earlier:
            for pid, d, s, code in (Mark.objects.filter(school=school, pupil_id__in=ids, date__in=earlier)
                                    .values_list("pupil_id", "date", "session", "code")):
                prev[(pid, d)][s] = code
        attempts: dict[int, list[ContactAttempt]] = defaultdict(list)
        for a in (ContactAttempt.objects.filter(school=school, pupil_id__in=ids, absence_date=day)
                  .select_related("by", "contact__guardian").order_by("at")):
            attempts[a.pupil_id].append(a)
        reports = {r.pupil_id: r for r in AbsenceReport.objects.filter(
            school=school, pupil_id__in=ids, status=AbsenceReport.Status.PENDING,
            first_date__lte=day, last_date__gte=day)}
        for pid, pupil_marks in by_pupil.items():
            rows.append(UnexplainedRow(
                pupil=pupil_marks[0].pupil,
                sessions=pupil_marks,
                contacts=contacts[pid],
                figures=figures.get(pid, Figures()),
                previous=[(d, "{} {}".format(prev[(pid, d)].get("AM", "–"), prev[(pid, d)].get("PM", "–")))
                          for d in earlier],
                attempts=attempts[pid],
                pending_report=reports.get(pid),
            ))
    return Unexplained(day=day, closed_sessions=closed_sessions, waiting=waiting, rows=rows,
                       previous_days=earlier)


# ---------------------------------------------------------------- aged N codes


def _n_code_days(*, school: School, today: dt.date) -> tuple[list[dt.date], int]:
    limit = policy_for(school=school, day=today).n_code_limit_school_days
    days = sorted({d for d, _ in school_sessions(school=school, start=today - dt.timedelta(days=10 * limit + 60),
                                                 end=today)})
    return days, limit


def n_code_deadline(*, school: School, today: dt.date) -> dt.date | None:
    """N marks dated before this day are overdue today (R7, `registers.codes.n_overdue_before`)."""
    days, limit = _n_code_days(school=school, today=today)
    return codes.n_overdue_before(days, limit)


def aged_n_codes_with_days(*, school: School, today: dt.date, limit: int = 500) -> tuple[list[dt.date], list[Mark]]:
    """The overdue N marks and the school days they were counted against (for when each became overdue)."""
    days, days_limit = _n_code_days(school=school, today=today)
    deadline = codes.n_overdue_before(days, days_limit)
    if deadline is None:
        return days, []
    return days, list(
        Mark.objects.filter(school=school, code=codes.NOT_ESTABLISHED, date__lt=deadline)
        .select_related("pupil", "pupil__registration_group")
        .order_by("date", "pupil__surname", "pupil__forename", "session")[:limit]
    )


def aged_n_codes(*, school: School, today: dt.date | None = None, limit: int = 500) -> list[Mark]:
    return aged_n_codes_with_days(school=school, today=today or timezone.localdate(), limit=limit)[1]


@dataclass
class AgedPupil:
    pupil: Pupil
    marks: list[Mark]

    @property
    def oldest(self) -> dt.date:
        return self.marks[0].date


def aged_n_by_pupil(*, school: School, today: dt.date | None = None) -> list[AgedPupil]:
    """The N codes past the limit grouped by pupil (oldest first), each with their sessions. One query."""
    out: dict[int, AgedPupil] = {}
    for m in aged_n_codes(school=school, today=today, limit=5000):
        out.setdefault(m.pupil_id, AgedPupil(m.pupil, [])).marks.append(m)
    return sorted(out.values(), key=lambda a: (a.oldest, a.pupil.surname, a.pupil.forename))


def n_marks_for(*, school: School, pupil_id: int, keys: Sequence[tuple[dt.date, str]] | None = None) -> list[Mark]:
    qs = Mark.objects.filter(school=school, pupil_id=pupil_id, code=codes.NOT_ESTABLISHED).order_by("date", "session")
    marks = list(qs)
    if keys is not None:
        wanted = set(keys)
        marks = [m for m in marks if (m.date, m.session) in wanted]
    return marks


# ---------------------------------------------------------------- medical evidence, messages, counts


def medical_requests(*, school: School, open_only: bool = False) -> QuerySet[MedicalEvidenceRequest]:
    qs = MedicalEvidenceRequest.objects.filter(school=school).select_related("pupil", "recorded_by")
    if open_only:
        qs = qs.filter(status=MedicalEvidenceRequest.Status.REQUESTED)
    return qs.order_by("-raised_at")


def messages_for(*, school: School, pupil_id: int, limit: int = 30) -> QuerySet[SentMessage]:
    return SentMessage.objects.filter(school=school, pupil_id=pupil_id).order_by("-created_at")[:limit]


def follow_up_counts(*, school: School, today: dt.date | None = None) -> dict[str, int]:
    """Counts for the school home page: one query per figure, none per pupil."""
    today = today or timezone.localdate()
    deadline = n_code_deadline(school=school, today=today)
    return {
        "aged": Mark.objects.filter(school=school, code=codes.NOT_ESTABLISHED, date__lt=deadline)
        .values("pupil_id").distinct().count()
        if deadline else 0,
        "reports": AbsenceReport.objects.filter(school=school, status=AbsenceReport.Status.PENDING).count(),
        "leave": LeaveRequest.objects.filter(school=school, status=LeaveRequest.Status.PENDING).count(),
        "n_today": Mark.objects.filter(school=school, date=today, code=codes.NOT_ESTABLISHED)
        .values("pupil_id").distinct().count(),
        "medical": MedicalEvidenceRequest.objects.filter(
            school=school, status=MedicalEvidenceRequest.Status.REQUESTED).count(),
    }
