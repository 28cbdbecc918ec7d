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
from registers import codes as code_table
from registers.calendar import SchoolCalendar, calendar_for, monday
from registers.models import Enrolment, Mark, Pupil, PupilContact
from reporting.casework import Figure
from reporting.effect import Action as ActionTaken
from reporting.figures import Figures
from reporting.models import AttendanceSignal, SignalKind
from reporting.selectors import figures_by_enrolment as figures_for

from .models import (
    Action,
    AttendanceContract,
    Case,
    CaseEvent,
    Concern,
    Ladder,
    LadderStage,
    Meeting,
    PlanKind,
    PupilContext,
    StatutoryClock,
    SupportRecord,
)
from .rules import CLOCK_NEAR_DAYS, DEFAULT_OPENING_KINDS, ILLNESS_CODES, KIND_PRIORITY, evidence_start

# ---------------------------------------------------------------- ladder


def ladder_for(*, school: School, day: dt.date) -> Ladder | None:
    """The ladder in force on `day` (the latest that started on or before it)."""
    return (Ladder.objects.filter(school=school, effective_from__lte=day).order_by("-effective_from")
            .prefetch_related("stages").first())


def ladder_stages(*, ladder: Ladder | None) -> list[LadderStage]:
    return sorted(ladder.stages.all(), key=lambda s: s.position) if ladder else []


def opening_kinds(*, ladder: Ladder | None) -> frozenset[str]:
    """Concerns that open a case by themselves: those of the first stage's entry conditions."""
    stages = ladder_stages(ladder=ladder)
    if stages and stages[0].entry_kinds:
        return frozenset(stages[0].entry_kinds)
    return frozenset(DEFAULT_OPENING_KINDS)


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


@dataclass
class QueueRow:
    case: Case | None
    pupil: Pupil
    enrolment_id: int
    kinds: list[str]
    priority: int
    figures: Figures | None = None
    due: dt.date | None = None
    what: str = ""


@dataclass
class Queue:
    new_concerns: list[QueueRow]
    actions: list[Action]
    due_cases: list[QueueRow]
    clocks: list[StatutoryClock]
    improved: list[QueueRow]
    open_cases: int
    today: dt.date
    limit: int


def queue_for(*, school: School, filters: Filters, user: User | None = None, today: dt.date | None = None,
              limit: int = 100) -> Queue:
    """Today's work, each part sorted by priority and cut at `limit` rows; a fixed number of statements."""
    today = today or timezone.localdate()
    open_cases = Case.objects.filter(school=school).exclude(status=Case.Status.CLOSED)
    if filters.mine and user is not None:
        filters = Filters(filters.year_group, filters.cohort, filters.stage, user.pk, False)
    cases = _filtered(open_cases.select_related("pupil", "stage", "owner"), filters, cases=True)

    # New concerns: active concerns of enrolments with no open case.
    concerns = _filtered(
        Concern.objects.filter(school=school, active=True)
        .exclude(Exists(open_cases.filter(enrolment_id=OuterRef("enrolment_id"))))
        .select_related("pupil"), filters, cases=False)
    grouped: dict[int, QueueRow] = {}
    for concern in concerns.order_by("enrolment_id")[: limit * 4]:
        row = grouped.setdefault(concern.enrolment_id, QueueRow(None, concern.pupil, concern.enrolment_id, [], 0))
        row.kinds.append(concern.kind)
        row.priority = max(row.priority, KIND_PRIORITY.get(concern.kind, 0))
        row.due = min(row.due or concern.since, concern.since)
    new_rows = sorted(grouped.values(), key=lambda r: (-r.priority, r.pupil.surname))[:limit]

    actions_qs = _filtered(Action.objects.filter(school=school, status__in=[Action.Status.PROPOSED,
                                                                     Action.Status.HELD]),
                           filters, cases=False, prefix="case__pupil__")
    if filters.stage is not None:
        actions_qs = actions_qs.filter(case__stage__position=filters.stage)
    if filters.owner is not None:
        actions_qs = actions_qs.filter(case__owner_id=filters.owner)
    actions = list(actions_qs.select_related("case__pupil", "case__stage").order_by("proposed_at")[:limit])

    due_cases = [QueueRow(c, c.pupil, c.enrolment_id, [], 0, due=c.next_due, what=c.next_action)
                 for c in cases.filter(next_due__lte=today + dt.timedelta(days=7), improved=False)
                 .order_by("next_due")[:limit]]
    improved = [QueueRow(c, c.pupil, c.enrolment_id, [], 0, what="Every concern has ended: close or praise")
                for c in cases.filter(improved=True).order_by("stage_since")[:limit]]

    clocks = list(_filtered(StatutoryClock.objects.filter(
        school=school, done_at__isnull=True, due__lte=today + dt.timedelta(days=CLOCK_NEAR_DAYS)), filters,
        cases=False).select_related("pupil").order_by("due")[:limit])

    shown = [r.enrolment_id for r in new_rows + due_cases + improved]
    if shown:
        calendar = calendar_for(school=school)
        figures = figures_year_to_date(school=school, enrolment_ids=shown, on=today, calendar=calendar)
        for row in new_rows + due_cases + improved:
            row.figures = figures.get(row.enrolment_id)
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


def pupils_listed(*, school: School, which: str, filters: Filters, today: dt.date | None = None) -> list[ListRow]:
    """The pupils with an active signal of the list's kind, their open case if any and today's figures."""
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
    return [ListRow(s.enrolment.pupil, s.enrolment_id, s.since, cases.get(s.enrolment_id), figures.get(s.enrolment_id))
            for s in rows]


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
    stages: list[LadderStage]
    next_stage: LadderStage | None
    contract_figures: dict[int, Figures | None]


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
    stages = ladder_stages(ladder=case.stage.ladder) if case.stage else []
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
        stages=stages, next_stage=next_stage, contract_figures=contract_figures,
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


def case_flags(*, school: School, pupil_ids: Sequence[int]) -> dict[int, str]:
    """Open-case flag and stage for pupils (what office staff and teachers may see), in one statement."""
    return {c.pupil_id: (c.stage.name if c.stage else "Open") for c in Case.objects.filter(
        school=school, pupil_id__in=list(pupil_ids)).exclude(status=Case.Status.CLOSED).select_related("stage")}


# ---------------------------------------------------------------- parents


def parent_documents(*, pupil: Pupil) -> list[Action]:
    """What was sent (or approved to send) to a pupil's parents: letters, invitations, contracts."""
    return list(Action.objects.filter(school_id=pupil.school_id, case__pupil=pupil,
                                      status__in=[Action.Status.TO_SEND, Action.Status.SENT])
                .select_related("meeting", "contract").order_by("-decided_at"))


# ---------------------------------------------------------------- policy preview


@dataclass
class Preview:
    would_open: dict[str, int]
    would_close: dict[str, int]
    letters: dict[str, int]
    total_open: int
    total_close: int


def ladder_preview(*, school: School, entry_kinds: Iterable[str], below_percent: Decimal | None,
                   letter: str, today: dt.date | None = None) -> Preview:
    """What a first-stage entry rule would do to today's data, by year group; nothing is written.

    Would open: enrolments with no open case that the rule selects. Would close: open cases none of whose
    pupils the rule (or any other active concern) still selects."""
    today = today or timezone.localdate()
    kinds = set(entry_kinds)
    selected: dict[int, str] = {}
    for enrolment_id, year_group in AttendanceSignal.objects.filter(school=school, active=True, kind__in=kinds) \
            .values_list("enrolment_id", "enrolment__pupil__year_group"):
        selected[enrolment_id] = year_group
    if below_percent is not None:
        calendar = calendar_for(school=school)
        on_roll = dict(Enrolment.objects.filter(school=school, leaving_date__isnull=True)
                       .values_list("pk", "pupil__year_group"))
        figures = figures_year_to_date(school=school, enrolment_ids=list(on_roll), on=today, calendar=calendar)
        for enrolment_id, found in figures.items():
            if found.possible and Decimal(100 * found.attendance) < below_percent * found.possible:
                selected[enrolment_id] = on_roll[enrolment_id]
    open_cases = dict(Case.objects.filter(school=school).exclude(status=Case.Status.CLOSED)
                      .values_list("enrolment_id", "pupil__year_group"))
    still = set(Concern.objects.filter(school=school, active=True, enrolment_id__in=list(open_cases))
                .exclude(kind__in=[SignalKind.AT_RISK, SignalKind.PUNCTUALITY]).values_list("enrolment_id", flat=True))
    would_open: dict[str, int] = {}
    for enrolment_id, year_group in selected.items():
        if enrolment_id not in open_cases:
            would_open[year_group] = would_open.get(year_group, 0) + 1
    would_close: dict[str, int] = {}
    for enrolment_id, year_group in open_cases.items():
        if enrolment_id not in selected and enrolment_id not in still:
            would_close[year_group] = would_close.get(year_group, 0) + 1
    letters = dict(would_open) if letter else {}
    return Preview(dict(sorted(would_open.items())), dict(sorted(would_close.items())), dict(sorted(letters.items())),
                   sum(would_open.values()), sum(would_close.values()))


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
