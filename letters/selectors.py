"""Reads for letters: templates in force, a pupil's letters, the school's log, batches and the parent's view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from attendance_portal.models import School, User
from registers.models import Pupil
from reporting.casework import Figure
from reporting.effect import Action

from .models import Letter, LetterBatch, LetterKind, LetterTemplate


def template_for(*, school: School, kind: str, language: str = "en") -> LetterTemplate | None:
    """The latest version in the recipient's language, else the latest English one."""
    found = (LetterTemplate.objects.filter(school=school, kind=kind, language__in={language, "en"})
             .order_by("-version"))
    by_language: dict[str, LetterTemplate] = {}
    for template in found:
        by_language.setdefault(template.language, template)
    return by_language.get(language) or by_language.get("en")


def templates_current(*, school: School) -> list[LetterTemplate]:
    """The latest version of each (kind, language) the school has."""
    return list(LetterTemplate.objects.filter(school=school).order_by("kind", "language", "-version")
                .distinct("kind", "language"))


def template_versions(*, school: School, kind: str, language: str) -> QuerySet[LetterTemplate]:
    return LetterTemplate.objects.filter(school=school, kind=kind, language=language).order_by("-version")


def letters_for_pupil(*, school: School, pupil_id: int) -> QuerySet[Letter]:
    return (Letter.objects.filter(school=school, pupil_id=pupil_id).select_related("approved_by", "template")
            .prefetch_related("sends").order_by("-created_at", "envelope_order"))


def letters_for_case(*, school: School, case_ref: str) -> QuerySet[Letter]:
    return (Letter.objects.filter(school=school, case_ref=case_ref).select_related("approved_by")
            .prefetch_related("sends").order_by("-created_at", "envelope_order"))


def letter_get(*, school: School, letter_id: int) -> Letter:
    found = Letter.objects.filter(school=school, pk=letter_id).select_related(
        "pupil", "approved_by", "template", "guardian").first()
    if found is None:
        raise Http404("No such letter")
    return found


@dataclass(frozen=True)
class LogFilter:
    kind: str = ""
    channel: str = ""
    approver: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""


def letter_log(*, school: School, where: LogFilter) -> QuerySet[Letter]:
    found = Letter.objects.filter(school=school)
    if where.kind:
        found = found.filter(kind=where.kind)
    if where.status:
        found = found.filter(status=where.status)
    if where.channel:
        found = found.filter(sends__channel=where.channel, sends__ok=True)
    if where.approver:
        found = found.filter(approved_by_id=where.approver)
    if where.date_from:
        found = found.filter(created_at__date__gte=where.date_from)
    if where.date_to:
        found = found.filter(created_at__date__lte=where.date_to)
    return (found.select_related("pupil", "approved_by").prefetch_related("sends")
            .order_by("-created_at", "envelope_order").distinct())


@dataclass(frozen=True)
class BatchProgress:
    total: int
    settled: int
    sent: int
    failed: int
    stale: int

    @property
    def percent(self) -> int:
        return round(100 * self.settled / self.total) if self.total else 100


def batch_progress(*, batch: LetterBatch) -> BatchProgress:
    counts = Letter.objects.filter(school_id=batch.school_id, batch=batch).aggregate(
        total=Count("pk"),
        settled=Count("pk", filter=Q(status__in=["sent", "failed", "cancelled", "stale"])),
        sent=Count("pk", filter=Q(status="sent")), failed=Count("pk", filter=Q(status="failed")),
        stale=Count("pk", filter=Q(status="stale")))
    return BatchProgress(**counts)


def batches_recent(*, school: School, limit: int = 20) -> QuerySet[LetterBatch]:
    return LetterBatch.objects.filter(school=school).select_related("approved_by").order_by("-created_at")[:limit]


def parent_letters(*, user: User, pupil: Pupil) -> list[Letter]:
    """Letters to this parent about this child (the child already checked to be theirs)."""
    # In the parent portal's scope (the schools where the account is a guardian); the guardian link is the filter.
    return list(Letter.objects.filter(school_id=pupil.school_id, pupil=pupil, guardian__user=user,
                                      status=Letter.Status.SENT).order_by("-sent_at"))


def parent_letter_get(*, user: User, letter_id: int) -> Letter:
    """One letter sent to this parent, or 404 — the same answer for another family's letter."""
    found = Letter.objects.filter(pk=letter_id, guardian__user=user, status=Letter.Status.SENT) \
        .select_related("pupil").first()
    if found is None:
        raise Http404("No such letter")
    return found


# ---------------------------------------------------------------- batches: picking and reviewing pupils


@dataclass(frozen=True)
class Flag:
    label: str
    hold: bool  # a reason to look again before sending: shown apart, not ticked


@dataclass(frozen=True)
class Candidate:
    pupil: Pupil
    attendance_percent: float | None
    sessions_missed: int
    recipients: int
    flags: list[Flag]

    @property
    def held(self) -> bool:
        return any(flag.hold for flag in self.flags)


def absence_sessions(*, school: School, pupil_ids: list[int], start: dt.date,
                     end: dt.date) -> dict[int, list[tuple[dt.date, str, str]]]:
    """Each pupil's absences in the period: the sessions a stage letter is about (one query)."""
    from registers import codes
    from registers.models import Mark

    absent = sorted(codes.AUTHORISED | codes.UNAUTHORISED)
    found: dict[int, list[tuple[dt.date, str, str]]] = {pk: [] for pk in pupil_ids}
    rows = Mark.objects.filter(school=school, pupil_id__in=pupil_ids, date__gte=start, date__lte=end,
                               code__in=absent).order_by("pupil_id", "date", "session")
    for pupil_id, day, session, code in rows.values_list("pupil_id", "date", "session", "code"):
        found[pupil_id].append((day, session, code))
    return found


def candidates(*, school: School, pupil_ids: list[int] | None, on: dt.date, below: float | None = None,
               sensitive: bool = True) -> list[Candidate]:
    """Pupils for a batch with their figures and context flags, in a fixed number of queries.

    `pupil_ids` None means the queue: every pupil whose attendance is below `below`.
    """
    from absence.models import LeaveRequest, MedicalEvidenceRequest
    from registers.calendar import calendar_for
    from registers.models import PupilContact

    from .merge import period_for, pupil_figures

    calendar = calendar_for(school=school)
    period = period_for(calendar, on)
    pupils = Pupil.objects.filter(school=school).select_related("registration_group")
    if pupil_ids is not None:
        pupils = pupils.filter(pk__in=pupil_ids)
    pupils_by_id = {p.pk: p for p in pupils}
    figures = pupil_figures(school=school, pupil_ids=list(pupils_by_id), period=period, calendar=calendar)
    if pupil_ids is None:
        limit = below if below is not None else 95.0
        pupils_by_id = {pk: p for pk, p in pupils_by_id.items()
                        if pk in figures and figures[pk].possible and figures[pk].attendance_rate < limit}
    ids = list(pupils_by_id)
    recipients = dict(PupilContact.objects.filter(school=school, pupil_id__in=ids, parental_responsibility=True)
                      .values("pupil_id").annotate(n=Count("pk")).values_list("pupil_id", "n"))
    leave = set(LeaveRequest.objects.filter(school=school, pupil_id__in=ids, status=LeaveRequest.Status.PENDING)
                .values_list("pupil_id", flat=True))
    asked = MedicalEvidenceRequest.Status.REQUESTED
    medical = set(MedicalEvidenceRequest.objects.filter(school=school, pupil_id__in=ids, status=asked)
                  .values_list("pupil_id", flat=True))
    found = []
    for pk, pupil in pupils_by_id.items():
        fig = figures.get(pk)
        flags: list[Flag] = []
        if fig and fig.absence and 2 * fig.illness >= fig.absence:
            flags.append(Flag(f"Mostly illness ({fig.illness} of {fig.absence} sessions missed)", True))
        if pk in medical:
            flags.append(Flag("Medical evidence asked for", False))
        if pk in leave:
            flags.append(Flag("Leave request waiting for a decision", True))
        if sensitive:
            if pupil.sen == Pupil.SEN.EHCP:
                flags.append(Flag("Education, health and care plan", True))
            elif pupil.sen == Pupil.SEN.SUPPORT:
                flags.append(Flag("SEN support", False))
            if pupil.has_social_worker:
                flags.append(Flag("Has a social worker", True))
            if pupil.looked_after:
                flags.append(Flag("Looked-after child", True))
            if pupil.child_in_need:
                flags.append(Flag("Child in need", False))
        if not recipients.get(pk):
            flags.append(Flag("No parent with parental responsibility on record", True))
        rate = fig.attendance_rate if fig and fig.possible else None
        found.append(Candidate(pupil=pupil, attendance_percent=rate, sessions_missed=fig.absence if fig else 0,
                               recipients=recipients.get(pk, 0), flags=flags))
    return sorted(found, key=lambda c: (c.attendance_percent if c.attendance_percent is not None else 101,
                                        c.pupil.surname, c.pupil.forename))


def letters_sent_counts(*, school_ids: list[int], start: dt.date, end: dt.date) -> list[Figure]:
    """Letters sent in the period by kind, per school, in one statement over all `school_ids` (for the
    governors' and trust dashboards: counts only)."""
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, zone)
    rows = (Letter.objects.filter(school_id__in=school_ids, status=Letter.Status.SENT, sent_at__gte=since,
                                  sent_at__lt=until)
            .values_list("school_id", "kind").annotate(n=Count("id")).order_by())
    by_kind: dict[str, dict[int, int]] = {}
    for school_id, kind, n in rows:
        by_kind.setdefault(kind, {})[school_id] = n
    labels = dict(LetterKind.choices)
    order = list(labels)
    return [Figure("letters", kind, labels.get(kind, kind), by_kind[kind])
            for kind in sorted(by_kind, key=lambda k: order.index(k) if k in order else len(order))]


def letters_sent_actions(*, school: School, start: dt.date, end: dt.date) -> list[Action]:
    """Letters sent in the period, as actions by kind (for the governors' before-and-after table)."""
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, zone)
    labels = dict(LetterKind.choices)
    sent = Letter.objects.filter(school=school, status=Letter.Status.SENT, sent_at__gte=since, sent_at__lt=until)
    return [Action(f"letter_{kind}", labels.get(kind, kind), pupil_id, at.astimezone(zone).date())
            for kind, pupil_id, at in sent.values_list("kind", "pupil_id", "sent_at") if at is not None]
