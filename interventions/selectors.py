"""Reads for casework: the officer's queue, pupil lists, a case page, context review, policy preview.

Each page reads with a fixed number of statements whatever the number of cases: figures come from the
statistics engine's summaries in one set-based query for all the enrolments shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from absence.models import LeaveRequest
from attendance_portal.models import School, User
from attendance_portal.tenancy import Prepared, school_rows
from registers import codes as code_table
from registers.calendar import SchoolCalendar, calendar_for, monday
from registers.models import Enrolment, Mark, Pupil, PupilContact
from reporting.casework import Figure
from reporting.effect import Action as ActionTaken
from reporting.figures import Figures
from reporting.forecasts import PupilForecast, forecast_order, pupil_forecasts
from reporting.models import AttendanceSignal, SignalKind
from reporting.selectors import figures_by_enrolment as figures_for

from .models import (
    Action,
    AttendanceContract,
    Case,
    CaseEvent,
    ClockKind,
    Concern,
    Ladder,
    LadderStage,
    Meeting,
    PlanKind,
    PupilContext,
    StatutoryClock,
    SupportRecord,
)
from .rules import (
    CLOCK_NEAR_DAYS,
    DEFAULT_OPENING_KINDS,
    ILLNESS_CODES,
    IMPROVED_IGNORES,
    KIND_PRIORITY,
    MOVE_PREFIX,
    escalation_cutoff,
    evidence_start,
)

# ---------------------------------------------------------------- ladder


def ladder_for(*, school: School, day: dt.date) -> Ladder | None:
    """The ladder in force on `day` (the latest that started on or before it)."""
    return _ladder_on(school_id=school.pk, day=day)


def _ladder_on(*, school_id: int, day: dt.date) -> Ladder | None:
    return (Ladder.objects.filter(school_id=school_id, effective_from__lte=day).order_by("-effective_from")
            .prefetch_related("stages").first())


def ladder_stages(*, ladder: Ladder | None) -> list[LadderStage]:
    return sorted(ladder.stages.all(), key=lambda s: s.position) if ladder else []


def stage_at(*, stages: Sequence[LadderStage], position: int) -> LadderStage | None:
    return next((s for s in stages if s.position == position), None)


def stage_in_force(*, case: Case, ladder: Ladder | None = None, on: dt.date | None = None) -> LadderStage | None:
    """The stage of the ladder in force at the case's place on its ladder: what a new action follows (what
    the stage offers, who may move the case on, its escalation). The case keeps the stage row it entered,
    so its history reads as it was; its own stage when the ladder in force has none at that place."""
    if case.stage is None:
        return None
    ladder = ladder or _ladder_on(school_id=case.school_id, day=on or timezone.localdate())
    if ladder is None or ladder.pk == case.stage.ladder_id:
        return case.stage
    return stage_at(stages=ladder_stages(ladder=ladder), position=case.stage.position) or case.stage


# ---------------------------------------------------------------- the ladder's rules on a pupil


def has_entry_rules(stages: Sequence[LadderStage]) -> bool:
    return any(s.entry_kinds or s.entry_below_percent is not None for s in stages)


def needs_figures(stages: Sequence[LadderStage]) -> bool:
    """Whether a stage enters on an attendance threshold (so the pupils' figures are needed)."""
    return any(s.entry_below_percent is not None for s in stages)


def below(figures: Figures | None, percent: Decimal | None) -> bool:
    """Attendance this year below `percent` (exactly, in whole sessions)."""
    return (percent is not None and figures is not None and figures.possible > 0
            and Decimal(100 * figures.attendance) < percent * figures.possible)


def stage_entered(*, stages: Sequence[LadderStage], kinds: Iterable[str],
                  figures: Figures | None = None) -> LadderStage | None:
    """The furthest stage whose entry conditions a pupil meets: one of its concerns, or attendance below
    its threshold. On a ladder none of whose stages names a condition, the usual concerns
    (DEFAULT_OPENING_KINDS) enter the first stage. `stages` in ladder order."""
    kinds = set(kinds)
    if not has_entry_rules(stages):
        return stages[0] if stages and kinds & set(DEFAULT_OPENING_KINDS) else None
    entered = None
    for stage in stages:
        if kinds & set(stage.entry_kinds) or below(figures, stage.entry_below_percent):
            entered = stage
    return entered


def entry_reason(*, stage: LadderStage, kinds: Iterable[str]) -> str:
    """What about the pupil meets the stage's entry conditions, in words."""
    met = [SignalKind(k).label for k in stage.entry_kinds if k in set(kinds)]
    if met:
        return ", ".join(met)
    if stage.entry_below_percent is not None:
        return f"attendance below {stage.entry_below_percent}%"
    return "the usual concerns"


@dataclass(frozen=True)
class Move:
    """The ladder calls for a case to move on: to this stage, for this reason (a person decides)."""

    to: LadderStage
    why: str

    @property
    def next_action(self) -> str:
        return f"{MOVE_PREFIX}{self.to.name} ({self.why})"[:200]


def escalation_move(*, stages: Sequence[LadderStage], stage: LadderStage) -> Move | None:
    """Where a stage's escalation rule (no improvement after N school weeks there) moves a case: the next
    stage; None when the stage has no such rule or no stage follows it."""
    following = next((s for s in stages if s.position > stage.position), None)
    if not stage.escalate_after_weeks or following is None:
        return None
    return Move(following, f"no improvement after {stage.escalate_after_weeks} school weeks")


def move_called_for(*, stages: Sequence[LadderStage], position: int, entered: LadderStage | None,
                    kinds: Iterable[str], stage_since: dt.date, improved: bool, scheduled_ahead: bool,
                    cutoffs: dict[int, dt.date | None]) -> Move | None:
    """Whether the ladder calls for a case at `position` to move on: a later stage's entry conditions are
    met, or its stage's escalation rule has run out (it has been there since before the rule's cutoff day,
    `cutoffs` by weeks, see `escalation_cutoff`) without improvement and nothing is scheduled ahead (a
    review, agreed actions)."""
    if entered is not None and entered.position > position:
        return Move(entered, entry_reason(stage=entered, kinds=kinds))
    current = stage_at(stages=stages, position=position)
    move = escalation_move(stages=stages, stage=current) if current is not None else None
    if move is None or current is None or current.escalate_after_weeks is None or improved or scheduled_ahead:
        return None
    cutoff = cutoffs.get(current.escalate_after_weeks)
    return move if cutoff is not None and stage_since < cutoff else None


# ---------------------------------------------------------------- figures


def figures_dict(figures: Figures | None) -> dict[str, Any]:
    """Figures as stored on an event: what a reader needs to compare before and after."""
    if figures is None or not figures.possible:
        return {}
    return {"possible": figures.possible, "attendance": figures.attendance, "absence": figures.absence,
            "unauthorised": figures.unauthorised, "illness": figures.illness, "late": figures.late_sessions,
            "rate": figures.rate(figures.attendance)}


def year_start(calendar: SchoolCalendar, day: dt.date) -> dt.date | None:
    """The first day of the academic year containing `day`; None when the school has not set that year up
    (then there are no year-to-date figures: last year's are not carried forward)."""
    year = calendar.year_for(day)
    return year.start if year else None


def figures_year_to_date(*, school: School, enrolment_ids: Sequence[int], on: dt.date,
                         calendar: SchoolCalendar) -> dict[int, Figures]:
    """Each enrolment's figures from the start of the academic year containing `on` up to `on`; none when
    that year is not set up."""
    start = year_start(calendar, on)
    if start is None:
        return {}
    return figures_for(school=school, enrolment_ids=enrolment_ids, start=start, end=on, calendar=calendar)


def sessions_snapshots(*, school: School, enrolment_ids: Sequence[int], start: dt.date,
                       end: dt.date) -> dict[int, list[list[str]]]:
    """The absence and late sessions of [start, end] as they are now, per enrolment: [[date, AM/PM, code], ...]."""
    wanted = code_table.AUTHORISED | code_table.UNAUTHORISED | code_table.LATE
    rows = (Mark.objects.filter(school=school, enrolment_id__in=list(enrolment_ids), date__range=(start, end),
                                code__in=wanted)
            .order_by("enrolment_id", "date", "session").values_list("enrolment_id", "date", "session", "code"))
    found: dict[int, list[list[str]]] = {}
    for enrolment_id, d, s, c in rows:
        found.setdefault(enrolment_id, []).append([d.isoformat(), s, c])
    return found


def sessions_snapshot(*, school: School, enrolment_id: int, start: dt.date, end: dt.date) -> list[list[str]]:
    return sessions_snapshots(school=school, enrolment_ids=[enrolment_id], start=start, end=end).get(enrolment_id, [])


def sessions_changed(*, school: School, enrolment_id: int, events: Iterable[Any]) -> dict[int, list[str]]:
    """For each event (or action) with sessions, the ones whose code is not what it was then, described
    ('3 Nov AM: was G, now I'). One statement for all of them."""
    keyed = [(e.pk, [tuple(s) for s in e.sessions]) for e in events if e.sessions]
    if not keyed:
        return {}
    days = [dt.date.fromisoformat(d) for _, ss in keyed for d, _, _ in ss]
    now = {(m_date.isoformat(), m_session): code for m_date, m_session, code in
           Mark.objects.filter(school=school, enrolment_id=enrolment_id, date__range=(min(days), max(days)))
           .values_list("date", "session", "code")}
    found: dict[int, list[str]] = {}
    for pk, sessions in keyed:
        changes = [f"{dt.date.fromisoformat(d):%-d %b} {s}: was {c}, now {now.get((d, s), 'no mark')}"
                   for d, s, c in sessions if now.get((d, s)) != c]
        if changes:
            found[pk] = changes
    return found


# ---------------------------------------------------------------- context review


@dataclass
class Context:
    absence: int = 0
    illness: int = 0
    medical: int = 0
    evidence_received: int = 0
    evidence_requested: int = 0
    sen: str = ""
    sen_label: str = ""
    social_worker: bool = False
    looked_after: bool = False
    child_in_need: bool = False
    young_carer: bool = False
    health_plan: bool = False
    safeguarding_flag: bool = False
    open_leave: int = 0
    holds: list[str] = field(default_factory=list)

    @property
    def illness_share(self) -> int:
        return round(100 * (self.illness + self.medical) / self.absence) if self.absence else 0


def context_for(*, school: School, case: Case, ladder: Ladder | None = None, on: dt.date | None = None) -> Context:
    """What a person must see before a formal action, and the school's hold rules that apply."""
    from absence.models import MedicalEvidenceRequest

    on = on or timezone.localdate()
    calendar = calendar_for(school=school)
    pupil = case.pupil
    absence_codes = code_table.AUTHORISED | code_table.UNAUTHORISED
    start = year_start(calendar, on)
    marks = Mark.objects.filter(school=school, enrolment_id=case.enrolment_id,
                                date__range=(start, on), code__in=absence_codes) if start else Mark.objects.none()
    counts = dict.fromkeys(("I", "M"), 0)
    total = 0
    for code in marks.values_list("code", flat=True):
        total += 1
        if code in ILLNESS_CODES:
            counts[code] += 1
    extra = pupil_context_get(school=school, pupil_id=pupil.pk)
    evidence = MedicalEvidenceRequest.objects.filter(school=school, pupil=pupil)
    ctx = Context(
        absence=total, illness=counts["I"], medical=counts["M"],
        evidence_received=evidence.filter(status=MedicalEvidenceRequest.Status.RECEIVED).count(),
        evidence_requested=evidence.count(),
        sen=pupil.sen, sen_label=pupil.get_sen_display() if pupil.sen != Pupil.SEN.NONE else "",
        social_worker=pupil.has_social_worker, looked_after=pupil.looked_after, child_in_need=pupil.child_in_need,
        young_carer=extra.young_carer, health_plan=extra.health_plan, safeguarding_flag=extra.safeguarding_flag,
        open_leave=LeaveRequest.objects.filter(school=school, pupil=pupil, status=LeaveRequest.Status.PENDING).count(),
    )
    ladder = ladder or ladder_for(school=school, day=on)
    if ladder is not None:
        if ladder.hold_illness_share is not None and ctx.absence and ctx.illness_share >= ladder.hold_illness_share:
            ctx.holds.append(f"{ctx.illness_share}% of the absence is illness or medical: consider a support "
                             "meeting rather than a warning letter.")
        if ladder.hold_sen and pupil.sen != Pupil.SEN.NONE:
            ctx.holds.append(f"{ctx.sen_label}: check the support in place is being given.")
        if ladder.hold_social_worker and pupil.has_social_worker:
            ctx.holds.append("The pupil has a social worker: speak to them first.")
        if ladder.hold_looked_after and pupil.looked_after:
            ctx.holds.append("Looked-after child: involve the virtual school and the carer.")
    if ctx.safeguarding_flag:
        ctx.holds.append("There is an open safeguarding note: speak to the designated safeguarding lead first.")
    return ctx


# ---------------------------------------------------------------- queue


@dataclass(frozen=True)
class Filters:
    year_group: str = ""
    cohort: str = ""
    stage: int | None = None
    owner: int | None = None
    mine: bool = False


# Cohort filters: label, and the pupil field with its value.
COHORTS: dict[str, tuple[str, tuple[str, object]]] = {
    "sen": ("SEN support", ("sen", Pupil.SEN.SUPPORT)),
    "ehcp": ("EHCP", ("sen", Pupil.SEN.EHCP)),
    "fsm": ("Free school meals", ("fsm", True)),
    "looked_after": ("Looked-after", ("looked_after", True)),
    "child_in_need": ("Child in need", ("child_in_need", True)),
    "social_worker": ("Social worker", ("has_social_worker", True)),
}


def _filtered(qs: QuerySet[Any], filters: Filters, *, cases: bool, prefix: str = "pupil__") -> QuerySet[Any]:
    if filters.year_group:
        qs = qs.filter(**{f"{prefix}year_group": filters.year_group})
    if filters.cohort in COHORTS:
        field_name, value = COHORTS[filters.cohort][1]
        qs = qs.filter(**{f"{prefix}{field_name}": value})
    if cases and filters.stage is not None:
        qs = qs.filter(stage__position=filters.stage)
    if cases and filters.owner is not None:
        qs = qs.filter(owner_id=filters.owner)
    return qs


def _name(forename: str, surname: str) -> str:
    return f"{forename} {surname}"  # as Pupil.full_name


def _attendance(figures: Figures | None) -> str:
    return f"{figures.attendance}/{figures.possible}" if figures is not None else ""


# Dates as the page prints them ("j M", "D j M" in English), without the date filter's work on every row.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def day_month(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


class _Row:
    """The queue's rows are read by the template engine field by field; a mapping lookup is its first (and
    cheapest) try, so each row answers one rather than failing it and falling back to an attribute."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)


@dataclass(slots=True)
class QueueRow(_Row):
    """One line of the queue with what the page shows worked out once (names, labels, dates, ids as text),
    so the page only prints values: no model instances, lookups across relations, filters or url tags per
    row."""

    enrolment_id: int
    name: str
    year_group: str
    case_id: int | None = None
    kinds: list[str] = field(default_factory=list)
    priority: int = 0
    surname: str = ""
    stage: str = "—"
    owner: str = "—"
    due: dt.date | None = None
    due_label: str = ""
    what: str = ""
    attendance: str = ""  # sessions attended/possible this year; "" without figures
    url: str = ""  # the case page, set by the view
    kinds_label: str = ""
    key: str = ""  # the enrolment's id as text (the case's for a case)


@dataclass(slots=True)
class ActionRow(_Row):
    pk: int
    case_id: int
    name: str
    title: str
    status: str
    status_label: str
    held: bool
    url: str = ""  # the context review, set by the view
    case_url: str = ""


@dataclass(slots=True)
class ClockRow(_Row):
    pk: int
    name: str
    year_group: str
    kind_label: str
    due: dt.date
    due_label: str
    overdue: bool
    url: str = ""  # recording it done, set by the view
    key: str = ""


@dataclass
class Queue:
    new_concerns: list[QueueRow]
    actions: list[ActionRow]
    due_cases: list[QueueRow]
    clocks: list[ClockRow]
    improved: list[QueueRow]
    open_cases: int
    today: dt.date
    limit: int


ACTION_STATUS = dict(Action.Status.choices)
CLOCK_KINDS = dict(ClockKind.choices)
CASE_ROW = ("pk", "enrolment_id", "pupil__forename", "pupil__surname", "pupil__year_group", "stage__name",
            "owner__first_name", "owner__last_name", "next_due", "next_action")


def _case_rows(qs: QuerySet[Any], *, what: str | None = None) -> list[QueueRow]:
    rows = []
    for pk, enrolment_id, forename, surname, year_group, stage, first, last, due, action in qs.values_list(*CASE_ROW):
        owner = f"{first or ''} {last or ''}".strip()  # as User.get_full_name
        rows.append(QueueRow(enrolment_id, _name(forename, surname), year_group, case_id=pk, surname=surname,
                             stage=stage or "—", owner=owner or "—", due=due, due_label=day_month(due) if due else "",
                             what=action if what is None else what, key=str(pk)))
    return rows


def queue_for(*, school: School, filters: Filters, user: User | None = None, today: dt.date | None = None,
              limit: int = 100) -> Queue:
    """Today's work, each part sorted by priority and cut at `limit` rows; a fixed number of statements.
    Rows are read as values, not model instances, and carry what the page prints."""
    today = today or timezone.localdate()
    open_cases = Case.objects.filter(school=school).exclude(status=Case.Status.CLOSED)
    if filters.mine and user is not None:
        filters = Filters(filters.year_group, filters.cohort, filters.stage, user.pk, False)
    cases = _filtered(open_cases, filters, cases=True)

    # New concerns: active concerns of enrolments with no open case.
    concerns = _filtered(
        Concern.objects.filter(school=school, active=True)
        .exclude(Exists(open_cases.filter(enrolment_id=OuterRef("enrolment_id")))), filters, cases=False)
    grouped: dict[int, QueueRow] = {}
    for enrolment_id, kind, since, forename, surname, year_group in concerns.order_by("enrolment_id").values_list(
            "enrolment_id", "kind", "since", "pupil__forename", "pupil__surname", "pupil__year_group")[: limit * 4]:
        row = grouped.get(enrolment_id)
        if row is None:
            row = grouped[enrolment_id] = QueueRow(enrolment_id, _name(forename, surname), year_group,
                                                   surname=surname)
        row.kinds.append(kind)
        row.priority = max(row.priority, KIND_PRIORITY.get(kind, 0))
        row.due = min(row.due or since, since)
    new_rows = sorted(grouped.values(), key=lambda r: (-r.priority, r.surname))[:limit]
    for row in new_rows:
        row.kinds_label, row.key = ", ".join(row.kinds), str(row.enrolment_id)

    actions_qs = _filtered(Action.objects.filter(school=school, status__in=[Action.Status.PROPOSED,
                                                                     Action.Status.HELD]),
                           filters, cases=False, prefix="case__pupil__")
    if filters.stage is not None:
        actions_qs = actions_qs.filter(case__stage__position=filters.stage)
    if filters.owner is not None:
        actions_qs = actions_qs.filter(case__owner_id=filters.owner)
    action_values = actions_qs.order_by("proposed_at", "pk").values_list(
        "pk", "case_id", "case__pupil__forename", "case__pupil__surname", "title", "status")[:limit]
    actions = [ActionRow(pk, case_id, _name(forename, surname), title, status, ACTION_STATUS.get(status, status),
                         status == Action.Status.HELD)
               for pk, case_id, forename, surname, title, status in action_values]

    due_cases = _case_rows(cases.filter(next_due__lte=today + dt.timedelta(days=7), improved=False)
                           .order_by("next_due")[:limit])
    improved = _case_rows(cases.filter(improved=True).order_by("stage_since")[:limit],
                          what="Every concern has ended: close or praise")

    clocks = [ClockRow(pk, _name(forename, surname), year_group, CLOCK_KINDS.get(kind, kind), due,
                       f"{DAYS[due.weekday()]} {day_month(due)}", due < today, key=str(pk))
              for pk, kind, due, forename, surname, year_group in _filtered(StatutoryClock.objects.filter(
                  school=school, done_at__isnull=True, due__lte=today + dt.timedelta(days=CLOCK_NEAR_DAYS)), filters,
                  cases=False).order_by("due").values_list(
                  "pk", "kind", "due", "pupil__forename", "pupil__surname", "pupil__year_group")[:limit]]

    shown = [r.enrolment_id for r in new_rows + due_cases + improved]
    if shown:
        calendar = calendar_for(school=school)
        figures = figures_year_to_date(school=school, enrolment_ids=shown, on=today, calendar=calendar)
        for row in new_rows + due_cases + improved:
            row.attendance = _attendance(figures.get(row.enrolment_id))
    return Queue(new_rows, actions, due_cases, clocks, improved, open_cases.count(), today, limit)


# ---------------------------------------------------------------- pupil lists


LISTS: dict[str, tuple[str, str]] = {
    "persistent": ("Persistent absence (10% or more)", SignalKind.PERSISTENT_ABSENCE),
    "severe": ("Severe absence (50% or more)", SignalKind.SEVERE_ABSENCE),
    "at-risk": ("At risk of persistent absence", SignalKind.AT_RISK),
}


@dataclass
class ListRow:
    pupil: Pupil
    enrolment_id: int
    since: dt.date
    case: Case | None
    figures: Figures | None
    forecast: PupilForecast | None = None


def pupils_listed(*, school: School, which: str, filters: Filters, today: dt.date | None = None) -> list[ListRow]:
    """The pupils with an active signal of the list's kind, their open case if any, today's figures and where
    their attendance is heading (`reporting.forecasts`). The at-risk list puts first those who would become
    persistently absent soonest; the others are by name."""
    today = today or timezone.localdate()
    kind = LISTS[which][1]
    signals = AttendanceSignal.objects.filter(school=school, kind=kind, active=True)
    if filters.year_group:
        signals = signals.filter(enrolment__pupil__year_group=filters.year_group)
    if filters.cohort in COHORTS:
        signals = signals.filter(enrolment__pupil__in=_filtered(Pupil.objects.filter(school=school),
                                                                Filters(cohort=filters.cohort), cases=False,
                                                                prefix=""))
    rows = list(signals.select_related("enrolment__pupil").order_by("enrolment__pupil__surname",
                                                                    "enrolment__pupil__forename"))
    ids = [s.enrolment_id for s in rows]
    cases = {c.enrolment_id: c for c in Case.objects.filter(school=school, enrolment_id__in=ids)
             .exclude(status=Case.Status.CLOSED).select_related("stage")}
    calendar = calendar_for(school=school)
    figures = figures_year_to_date(school=school, enrolment_ids=ids, on=today, calendar=calendar)
    forecasts = {f.enrolment_id: f for f in pupil_forecasts(school=school, on=today, calendar=calendar,
                                                            enrolment_ids=ids)}
    listed = [ListRow(s.enrolment.pupil, s.enrolment_id, s.since, cases.get(s.enrolment_id),
                      figures.get(s.enrolment_id), forecasts.get(s.enrolment_id)) for s in rows]
    if kind == SignalKind.AT_RISK:
        listed.sort(key=lambda r: forecast_order(r.forecast) if r.forecast else (True, dt.date.max, 101.0, 0))
    return listed


# ---------------------------------------------------------------- a case


@dataclass
class CaseView:
    case: Case
    events: list[CaseEvent]
    actions: list[Action]
    meetings: list[Meeting]
    contracts: list[AttendanceContract]
    support: list[SupportRecord]
    clocks: list[StatutoryClock]
    concerns: list[Concern]
    figures_now: Figures | None
    figures_at_open: dict[str, Any]
    changed: dict[int, list[str]]
    action_changed: dict[int, list[str]]
    grid: list[tuple[dt.date, list[tuple[dt.date | None, str, str]]]]
    siblings: list[tuple[Pupil, Figures | None]]
    contacts: list[PupilContact]
    stages: list[LadderStage]  # of the ladder in force: a case moves on along it
    next_stage: LadderStage | None
    stage_now: LadderStage | None  # the ladder in force at the case's place: what it offers now
    contract_figures: dict[int, Figures | None]
    forecast: PupilForecast | None = None  # where the pupil's attendance is heading (reporting.forecasts)


def pupil_context_get(*, school: School, pupil_id: int) -> PupilContext:
    """The pupil's recorded context (an unsaved empty one when nothing is recorded)."""
    found = PupilContext.objects.filter(school=school, pupil_id=pupil_id).first()
    return found or PupilContext(school=school, pupil_id=pupil_id)


def case_get(*, school: School, case_id: int) -> Case:
    return Case.objects.select_related("pupil", "stage__ladder", "owner", "enrolment").get(school=school, pk=case_id)


def case_view(*, school: School, case: Case, today: dt.date | None = None) -> CaseView:
    today = today or timezone.localdate()
    calendar = calendar_for(school=school)
    events = list(CaseEvent.objects.filter(school=school, case=case).select_related("by", "approved_by"))
    actions = list(Action.objects.filter(school=school, case=case).select_related("approved_by", "proposed_by"))
    contracts = list(AttendanceContract.objects.filter(school=school, case=case))
    siblings = _siblings(school=school, pupil=case.pupil)
    sibling_enrolments = {e.pupil_id: e.pk for e in Enrolment.objects.filter(
        school=school, pupil__in=siblings, leaving_date__isnull=True)}
    figures = figures_year_to_date(school=school, enrolment_ids=[case.enrolment_id, *sibling_enrolments.values()],
                                   on=today, calendar=calendar)
    contract_figures = {}
    for contract in contracts:
        found = figures_for(school=school, enrolment_ids=[case.enrolment_id], start=contract.start,
                            end=min(today, contract.monitoring_end), calendar=calendar)
        contract_figures[contract.pk] = found.get(case.enrolment_id)
    opened = next((e for e in events if e.kind == "opened"), None)
    ladder = ladder_for(school=school, day=today)
    stages = ladder_stages(ladder=ladder)
    stage_now = stage_in_force(case=case, ladder=ladder)
    next_stage = next((s for s in stages if case.stage and s.position > case.stage.position), None)
    return CaseView(
        case=case, events=events, actions=actions,
        meetings=list(Meeting.objects.filter(school=school, case=case)),
        contracts=contracts, support=list(SupportRecord.objects.filter(school=school, case=case)),
        clocks=list(StatutoryClock.objects.filter(school=school, enrolment_id=case.enrolment_id)),
        concerns=list(Concern.objects.filter(school=school, enrolment_id=case.enrolment_id)),
        figures_now=figures.get(case.enrolment_id), figures_at_open=opened.figures if opened else {},
        changed=sessions_changed(school=school, enrolment_id=case.enrolment_id, events=events),
        action_changed=sessions_changed(school=school, enrolment_id=case.enrolment_id, events=actions),
        grid=_grid(school=school, case=case, calendar=calendar, today=today),
        siblings=[(p, figures.get(sibling_enrolments.get(p.pk, -1))) for p in siblings],
        contacts=list(PupilContact.objects.filter(school=school, pupil=case.pupil).select_related("guardian")
                      .order_by("priority")),
        stages=stages, next_stage=next_stage, stage_now=stage_now, contract_figures=contract_figures,
        forecast=next(iter(pupil_forecasts(school=school, on=today, calendar=calendar,
                                           enrolment_ids=[case.enrolment_id])), None),
    )


def _siblings(*, school: School, pupil: Pupil) -> list[Pupil]:
    guardians = PupilContact.objects.filter(school=school, pupil=pupil).values("guardian_id")
    return list(Pupil.objects.filter(school=school, contacts__guardian_id__in=guardians).exclude(pk=pupil.pk)
                .distinct().order_by("surname", "forename"))


def _grid(*, school: School, case: Case, calendar: SchoolCalendar,
          today: dt.date) -> list[tuple[dt.date, list[tuple[dt.date | None, str, str]]]]:
    """The last ten school weeks, Monday to Friday, as (day, AM code, PM code); day None on a day without
    school, '' where no mark."""
    start = evidence_start(calendar, today)
    marks = {(d, s): c for d, s, c in Mark.objects.filter(
        school=school, enrolment_id=case.enrolment_id, date__range=(start, today))
        .values_list("date", "session", "code")}
    weeks: dict[dt.date, list[tuple[dt.date | None, str, str]]] = {}
    for day in calendar.days:
        if start <= day <= today:
            week = weeks.setdefault(monday(day), [(None, "", "")] * 5)
            week[day.weekday()] = (day, marks.get((day, "AM"), ""), marks.get((day, "PM"), ""))
    return sorted(weeks.items())


_CASE_FLAGS = Prepared("case_flags", f"""
    SELECT c.pupil_id, s.name FROM {Case._meta.db_table} c
      LEFT JOIN {LadderStage._meta.db_table} s ON s.id = c.stage_id
     WHERE c.school_id = %(school)s AND c.pupil_id = ANY(%(pupils)s) AND c.status <> %(closed)s""")  # noqa: S608 - table names only


def case_flags(*, school: School, pupil_ids: Sequence[int]) -> dict[int, str]:
    """Open-case flag and stage for pupils (what office staff and teachers may see), in one statement: read
    on every register page, so written in SQL (`school_rows`) rather than built through the ORM each time."""
    found = school_rows(school_id=school.pk, sql=_CASE_FLAGS,
                        params={"school": school.pk, "pupils": list(pupil_ids), "closed": Case.Status.CLOSED.value})
    return {pupil_id: "Open" if stage is None else stage for pupil_id, stage in found}


# ---------------------------------------------------------------- parents


def parent_documents(*, pupil: Pupil) -> list[Action]:
    """What was sent (or approved to send) to a pupil's parents: letters, invitations, contracts."""
    return list(Action.objects.filter(school_id=pupil.school_id, case__pupil=pupil,
                                      status__in=[Action.Status.TO_SEND, Action.Status.SENT])
                .select_related("meeting", "contract").order_by("-decided_at"))


# ---------------------------------------------------------------- policy preview


YEAR_ORDER = {y: n for n, y in enumerate(["N1", "N2", "R", *[str(n) for n in range(1, 15)]])}


def year_group_key(year_group: str) -> tuple[int, str]:
    return YEAR_ORDER.get(year_group, len(YEAR_ORDER)), year_group


@dataclass
class PreviewRow:
    """What a ladder would do to one year group's pupils today."""

    year_group: str
    open: int = 0
    move: int = 0
    close: int = 0
    letters: dict[str, int] = field(default_factory=dict)

    @property
    def letters_total(self) -> int:
        return sum(self.letters.values())


@dataclass
class Preview:
    """What a ladder's rules would do on today's data, by year group: cases that would open (pupils with no
    open case who meet a stage's entry conditions), move on (open cases a later stage's entry conditions or
    their stage's escalation rule call on), close (open cases whose pupil meets no entry condition and has
    no concern left), and the letters those would bring (the stage letters, the praise letter). `current`
    is the same for the ladder in force, for comparison."""

    rows: list[PreviewRow]
    letters: dict[str, int]
    total_open: int
    total_move: int
    total_close: int
    current: Preview | None = None

    @property
    def total_letters(self) -> int:
        return sum(self.letters.values())

    @property
    def would_open(self) -> dict[str, int]:
        return {r.year_group: r.open for r in self.rows if r.open}

    @property
    def would_move(self) -> dict[str, int]:
        return {r.year_group: r.move for r in self.rows if r.move}

    @property
    def would_close(self) -> dict[str, int]:
        return {r.year_group: r.close for r in self.rows if r.close}

    def compared(self) -> list[tuple[PreviewRow, PreviewRow]]:
        """Each year group's row beside the ladder in force's (an empty one where it has none)."""
        now = {r.year_group: r for r in (self.current.rows if self.current else [])}
        groups = sorted({r.year_group for r in self.rows} | set(now), key=year_group_key)
        mine = {r.year_group: r for r in self.rows}
        return [(mine.get(g) or PreviewRow(g), now.get(g) or PreviewRow(g)) for g in groups]


@dataclass
class _OpenCase:
    enrolment_id: int
    year_group: str
    position: int
    stage_since: dt.date
    improved: bool
    scheduled_ahead: bool


@dataclass
class _Today:
    """Today's data a preview reads once, whichever ladders it evaluates."""

    today: dt.date
    calendar: SchoolCalendar
    on_roll: dict[int, str]  # enrolment -> year group
    kinds: dict[int, set[str]]  # active concerns (signals) by enrolment
    figures: dict[int, Figures]
    cases: list[_OpenCase]


def _today_data(*, school: School, today: dt.date, with_figures: bool) -> _Today:
    calendar = calendar_for(school=school)
    on_roll = dict(Enrolment.objects.filter(school=school, leaving_date__isnull=True)
                   .values_list("pk", "pupil__year_group"))
    kinds: dict[int, set[str]] = {}
    for enrolment_id, kind in AttendanceSignal.objects.filter(school=school, active=True) \
            .values_list("enrolment_id", "kind"):
        kinds.setdefault(enrolment_id, set()).add(kind)
    figures = figures_year_to_date(school=school, enrolment_ids=list(on_roll), on=today,
                                   calendar=calendar) if with_figures and on_roll else {}
    cases = [_OpenCase(e, year_group, position or 0, since, improved, due is not None and due > today)
             for e, year_group, position, since, improved, due in
             Case.objects.filter(school=school).exclude(status=Case.Status.CLOSED)
             .values_list("enrolment_id", "pupil__year_group", "stage__position", "stage_since", "improved",
                          "next_due")]
    return _Today(today, calendar, on_roll, kinds, figures, cases)


def _evaluate(data: _Today, stages: Sequence[LadderStage], praise_letter: str) -> Preview:
    stages = sorted(stages, key=lambda s: s.position)
    rows: dict[str, PreviewRow] = {}
    cutoffs = {s.escalate_after_weeks: escalation_cutoff(data.calendar, data.today, s.escalate_after_weeks)
               for s in stages if s.escalate_after_weeks}

    def count(year_group: str, what: str, letter: str) -> None:
        row = rows.setdefault(year_group, PreviewRow(year_group))
        setattr(row, what, getattr(row, what) + 1)
        if letter:
            row.letters[letter] = row.letters.get(letter, 0) + 1

    with_case = {c.enrolment_id for c in data.cases}
    for enrolment_id, year_group in data.on_roll.items():
        if enrolment_id in with_case:
            continue
        entered = stage_entered(stages=stages, kinds=data.kinds.get(enrolment_id, ()),
                                figures=data.figures.get(enrolment_id))
        if entered is not None:
            count(year_group, "open", entered.letter)
    for case in data.cases:
        kinds = data.kinds.get(case.enrolment_id, set())
        entered = stage_entered(stages=stages, kinds=kinds, figures=data.figures.get(case.enrolment_id))
        if entered is None and not kinds - set(IMPROVED_IGNORES):
            count(case.year_group, "close", praise_letter)
            continue
        move = move_called_for(stages=stages, position=case.position, entered=entered, kinds=kinds,
                               stage_since=case.stage_since, improved=case.improved,
                               scheduled_ahead=case.scheduled_ahead, cutoffs=cutoffs)
        if move is not None:
            count(case.year_group, "move", move.to.letter)
    ordered = [rows[g] for g in sorted(rows, key=year_group_key)]
    letters: dict[str, int] = {}
    for row in ordered:
        for title, n in row.letters.items():
            letters[title] = letters.get(title, 0) + n
    return Preview(ordered, dict(sorted(letters.items())), sum(r.open for r in ordered),
                   sum(r.move for r in ordered), sum(r.close for r in ordered))


def ladder_preview(*, school: School, stages: Sequence[LadderStage], praise_letter: str = "",
                   compare: Ladder | None = None, today: dt.date | None = None) -> Preview:
    """What a ladder (its stages, saved or not) would do to today's data, by year group, beside what the
    ladder in force (`compare`) does to the same data; nothing is written. Reads today's data once: the
    pupils on roll, their active concerns, the open cases and, when a stage enters on a threshold, every
    pupil's figures this year."""
    today = today or timezone.localdate()
    in_force = ladder_stages(ladder=compare)
    data = _today_data(school=school, today=today, with_figures=needs_figures(stages) or needs_figures(in_force))
    found = _evaluate(data, stages, praise_letter)
    if compare is not None:
        found.current = _evaluate(data, in_force, compare.praise_letter)
    return found


# ---------------------------------------------------------------- casework in aggregate (governors, trusts)


def _day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period as local times: from the start of `start` to the start of the day after `end`."""
    zone = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time.min, zone),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, zone))


CASEWORK_SQL = """
    SELECT 'stage' AS fig, c.school_id, coalesce(st.name, '') AS key, coalesce(min(st.position), 0) AS pos,
           count(*) AS n
      FROM interventions_case c
      LEFT JOIN interventions_ladderstage st ON st.id = c.stage_id AND st.school_id = c.school_id
     WHERE c.school_id = ANY(%(schools)s) AND c.opened_on <= %(end)s
       AND (c.closed_on IS NULL OR c.closed_on >= %(start)s)
     GROUP BY c.school_id, st.name
    UNION ALL
    SELECT 'meeting', m.school_id, '', 0, count(*)
      FROM interventions_meeting m
     WHERE m.school_id = ANY(%(schools)s) AND m.status = 'held' AND m."when" >= %(from)s AND m."when" < %(to)s
     GROUP BY m.school_id
    UNION ALL
    SELECT 'contract', k.school_id, k.kind, 0, count(*)
      FROM interventions_attendancecontract k
     WHERE k.school_id = ANY(%(schools)s) AND k.status <> 'draft' AND k.start BETWEEN %(start)s AND %(end)s
     GROUP BY k.school_id, k.kind"""


def casework_counts(*, school_ids: list[int], start: dt.date, end: dt.date) -> list[Figure]:
    """Cases by stage, meetings held and contracts and plans started in the period, counted per school in
    one statement over all `school_ids` (for the governors' and trust dashboards; counts only)."""
    since, until = _day_bounds(start, end)
    with connection.cursor() as cursor:
        cursor.execute(CASEWORK_SQL, {"schools": school_ids, "start": start, "end": end, "from": since,
                                      "to": until})
        rows = cursor.fetchall()
    stages: dict[str, dict[int, int]] = {}
    order: dict[str, int] = {}
    meetings: dict[int, int] = {}
    contracts: dict[str, dict[int, int]] = {"contract": {}, "action_plan": {}}
    for fig, school_id, key, pos, n in rows:
        if fig == "stage":
            label = key or "Not on a stage yet"
            stages.setdefault(label, {})[school_id] = stages.get(label, {}).get(school_id, 0) + n
            order[label] = min(order.get(label, pos), pos)
        elif fig == "meeting":
            meetings[school_id] = n
        else:
            contracts.setdefault(key, {})[school_id] = n
    found = [Figure("stages", label, label, stages[label]) for label in sorted(stages, key=lambda k: (order[k], k))]
    found.append(Figure("actions", "meetings", "Meetings held", meetings))
    found.append(Figure("actions", "contracts", "Attendance contracts started", contracts.get("contract", {})))
    found.append(Figure("actions", "action_plans", "Attendance action plans started", contracts.get("action_plan", {})))
    return found


def case_actions(*, school: School, start: dt.date, end: dt.date) -> list[ActionTaken]:
    """Meetings held and contracts and action plans started in the period, as actions (for the governors'
    before-and-after table; reporting.effect)."""
    since, until = _day_bounds(start, end)
    zone = timezone.get_current_timezone()
    held = Meeting.objects.filter(school=school, status=Meeting.Status.HELD, when__gte=since, when__lt=until)
    found = [ActionTaken("meeting", "Meetings held", pupil_id, when.astimezone(zone).date())
             for pupil_id, when in held.values_list("case__pupil_id", "when")]
    labels = dict(PlanKind.choices)
    plans = AttendanceContract.objects.filter(school=school, start__gte=start, start__lte=end)
    found += [ActionTaken(f"plan_{kind}", f"{labels.get(kind, kind)} started", pupil_id, day)
              for kind, pupil_id, day in plans.values_list("kind", "case__pupil_id", "start")]
    return found
