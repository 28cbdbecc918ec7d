"""Writes for attendance casework: the nightly sync from the signals, and every action on a case.

`cases_sync` reads what the statistics run changed (the `SignalChange` rows a trigger on the signals table
writes in the run's own transaction), keyed on enrolment and kind of concern, and empties them in its own
transaction under a per-school advisory lock: running it twice, or a redelivered task, finds nothing left
to do, and its cost follows the number of changed signals, not the size of the school.

Every action on a case appends to the timeline with who, when, why, the attendance figures then and the
sessions behind it as they were then.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from attendance_portal.models import School, User
from attendance_portal.roles import Role
from letters.models import LetterKind
from letters.services import letter_request
from registers.calendar import calendar_for
from registers.models import Enrolment, Pupil
from reporting.models import AttendanceSignal, SignalKind

from .models import (
    Action,
    AttendanceContract,
    Case,
    CaseEvent,
    ClockKind,
    Concern,
    EventKind,
    Ladder,
    LadderStage,
    Meeting,
    PlanKind,
    PupilContext,
    StatutoryClock,
    SupportRecord,
)
from .rules import (
    CLOCK_FOR_KIND,
    DEFAULT_OPENING_KINDS,
    IMPROVED_IGNORES,
    MOVE_PREFIX,
    SOCIAL_WORKER_KINDS,
    escalation_cutoff,
    evidence_start,
)
from .selectors import (
    context_for,
    entry_reason,
    escalation_move,
    figures_dict,
    figures_for,
    figures_year_to_date,
    ladder_for,
    ladder_stages,
    move_called_for,
    needs_figures,
    sessions_snapshot,
    sessions_snapshots,
    stage_entered,
    stage_in_force,
)

LOCK_NAMESPACE = 0x4341  # "CA": casework; the second key is the school id
DEFAULT_REVIEW_WEEKS = 6


# ---------------------------------------------------------------- ladders


# Who a ladder may reserve moving a case on to: the roles that work cases at the school.
MOVER_ROLES = (Role.ATTENDANCE_OFFICER.value, Role.SENIOR_ATTENDANCE_CHAMPION.value, Role.HEADTEACHER.value)
STAGE_FIELDS = tuple(f.name for f in LadderStage._meta.concrete_fields
                     if f.name not in ("id", "school", "ladder", "position"))
LADDER_RULES = tuple(f.name for f in Ladder._meta.concrete_fields
                     if f.name not in ("id", "school", "name", "effective_from", "created_at", "created_by"))


def ladder_problems(stages: list[dict[str, Any]]) -> list[str]:
    """What is wrong with a ladder's stages, in words ([] when nothing): every caller (the page, the seeds,
    the benchmarks) goes through these checks."""
    problems = []
    if not stages:
        return ["A ladder needs at least one stage."]
    unknown = {k for s in stages for k in s.get("entry_kinds", [])} - set(SignalKind.values)
    if unknown:
        problems.append(f"Unknown concern: {', '.join(sorted(unknown))}.")
    roles = {r for s in stages for r in s.get("movers", [])} - set(MOVER_ROLES)
    if roles:
        problems.append(f"Only an attendance officer, the senior attendance champion or the headteacher can be "
                        f"given a case to move on, not {', '.join(sorted(roles))}.")
    for n, stage in enumerate(stages, start=1):
        if not str(stage.get("name", "")).strip():
            problems.append(f"Stage {n}: give the stage a name.")
        if stage.get("plan", "") not in PlanKind.values:
            problems.append(f"Stage {n}: choose an attendance contract, an action plan or no plan.")
        percent = stage.get("entry_below_percent")
        if percent is not None and not Decimal(50) <= Decimal(percent) <= Decimal(100):
            problems.append(f"Stage {n}: an attendance threshold is between 50% and 100%.")
        for name in ("review_after_weeks", "extend_weeks", "escalate_after_weeks"):
            weeks = stage.get(name)
            if weeks is not None and not 1 <= weeks <= 52:
                problems.append(f"Stage {n}: a number of school weeks is between 1 and 52.")
    first, last = stages[0], stages[-1]
    if not first.get("entry_kinds") and first.get("entry_below_percent") is None:
        problems.append("Stage 1: choose at least one concern or an attendance threshold that opens a case.")
    if last.get("escalate_after_weeks") or last.get("escalate_on_did_not_attend"):
        problems.append(f"Stage {len(stages)} is the last: there is no stage to move a case on to. Take its "
                        "escalation rule away or add a stage after it.")
    return problems


def ladder_create(*, school: School, name: str, effective_from: dt.date, stages: list[dict[str, Any]],
                  by: User | None = None, **rules: Any) -> Ladder:
    """A new ladder from `effective_from`. Cases keep the stage rows they are on; new actions use this one."""
    problems = ladder_problems(stages)
    if problems:
        raise ValidationError(problems)
    if not name.strip():
        raise ValidationError("Give the ladder a name.")
    if Ladder.objects.filter(school=school, effective_from=effective_from).exists():
        raise ValidationError(f"A ladder already starts on {effective_from:%d %B %Y}; choose another day.")
    with transaction.atomic():
        ladder = Ladder.objects.create(school=school, name=name.strip(), effective_from=effective_from, created_by=by,
                                       **rules)
        LadderStage.objects.bulk_create([LadderStage(school=school, ladder=ladder, position=n, **spec)
                                         for n, spec in enumerate(stages, start=1)])
    return ladder


def ladder_change(*, school: School, stages: list[dict[str, Any]], effective_from: dt.date, by: User,
                  name: str | None = None, today: dt.date | None = None, **rules: Any) -> Ladder:
    """Save a change to the ladder as a new ladder from `effective_from` (today or later): the ladder in
    force with these stages (every stage's entry conditions, offered actions, who may move a case on and
    escalation) and these rules. Nothing already written changes: each case keeps the stage row it is on,
    each action and timeline line the stage it was taken at; new actions follow the new ladder from its day."""
    today = today or timezone.localdate()
    if effective_from < today:
        raise ValidationError("A change starts today or later: what was done under the ladder in force stays as "
                              "it was.")
    current = ladder_for(school=school, day=effective_from)
    if current is None:
        raise ValidationError("This school has no ladder yet.")
    unknown = set(rules) - set(LADDER_RULES)
    if unknown:
        raise ValidationError(f"Unknown ladder rule: {', '.join(sorted(unknown))}.")
    kept = {name: getattr(current, name) for name in LADDER_RULES}  # the letters and hold rules, unless changed
    defaults = {name: LadderStage._meta.get_field(name).get_default()  # type: ignore[union-attr]  # STAGE_FIELDS are the model's own columns, never relations
                for name in STAGE_FIELDS}
    specs = [{name: spec.get(name, defaults[name]) for name in STAGE_FIELDS} for spec in stages]
    return ladder_create(school=school, name=name or current.name, effective_from=effective_from, stages=specs,
                         by=by, **(kept | rules))


# ---------------------------------------------------------------- nightly sync


@dataclass
class SyncResult:
    changes: int = 0
    opened: int = 0
    raised: int = 0
    ended: int = 0
    clocks: int = 0
    moves: int = 0
    opened_cases: list[int] = field(default_factory=list)


def cases_sync(*, school: School, on: dt.date | None = None) -> SyncResult:
    """Bring concerns, cases and statutory clocks up to date with the signals the last runs changed, and
    propose moving on the cases the ladder's escalation rules call on."""
    on = on or timezone.localdate()
    result = SyncResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, school.pk])
            cursor.execute("""SELECT max(id), array_agg(DISTINCT enrolment_id), array_agg(DISTINCT kind)
                                FROM interventions_signalchange WHERE school_id = %s""", [school.pk])
            last_id, enrolment_ids, kinds = cursor.fetchone()
        ladder = ladder_for(school=school, day=on)
        result.moves = _escalations(school=school, stages=ladder_stages(ladder=ladder), on=on)
        if last_id is None:
            return result
        with connection.cursor() as cursor:
            cursor.execute("""SELECT DISTINCT enrolment_id, kind FROM interventions_signalchange
                               WHERE school_id = %s AND id <= %s""", [school.pk, last_id])
            pairs = set(cursor.fetchall())
        result.changes = len(pairs)
        _apply(school=school, on=on, pairs=pairs, enrolment_ids=enrolment_ids, kinds=kinds, ladder=ladder,
               result=result)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM interventions_signalchange WHERE school_id = %s AND id <= %s",
                           [school.pk, last_id])
    return result


def _escalations(*, school: School, stages: list[LadderStage], on: dt.date) -> int:
    """Propose moving on the open cases whose stage's escalation rule has run out: no improvement after its
    school weeks there, nothing scheduled ahead, no move proposed yet. The rule of the ladder in force at the
    case's place on it (a change applies from its day); one statement per stage that escalates. A person
    moves the case (the stage says who)."""
    escalating = [(stage, move) for stage in stages if (move := escalation_move(stages=stages, stage=stage))]
    if not escalating:
        return 0
    calendar = calendar_for(school=school)
    proposed = 0
    for stage, move in escalating:
        if stage.escalate_after_weeks is None:  # escalation_move gives a move only for a stage with weeks
            continue
        cutoff = escalation_cutoff(calendar, on, stage.escalate_after_weeks)
        if cutoff is None:
            continue
        proposed += Case.objects.filter(
            school=school, stage__position=stage.position, stage_since__lt=cutoff, improved=False,
            next_due__lte=on).exclude(status=Case.Status.CLOSED).exclude(next_action__startswith=MOVE_PREFIX) \
            .update(next_action=move.next_action, next_due=on)
    return proposed


def _apply(*, school: School, on: dt.date, pairs: set[tuple[int, str]], enrolment_ids: list[int], kinds: list[str],
           ladder: Ladder | None, result: SyncResult) -> None:
    active: dict[tuple[int, str], AttendanceSignal] = {}
    for row in AttendanceSignal.objects.filter(school=school, enrolment_id__in=enrolment_ids, kind__in=kinds,
                                               active=True).order_by("since"):
        if (row.enrolment_id, row.kind) in pairs:
            active[(row.enrolment_id, row.kind)] = row  # the latest start wins
    concerns = {(c.enrolment_id, c.kind): c for c in
                Concern.objects.filter(school=school, enrolment_id__in=enrolment_ids, kind__in=kinds)}
    cases = {c.enrolment_id: c for c in Case.objects.filter(school=school, enrolment_id__in=enrolment_ids)
             .exclude(status=Case.Status.CLOSED).select_related("stage")}
    enrolments = {e.pk: e for e in
                  Enrolment.objects.filter(school=school, pk__in=enrolment_ids).select_related("pupil")}
    stages = ladder_stages(ladder=ladder)
    now = timezone.now()
    new_concerns, changed_concerns, events, clocks = [], [], [], []
    raised: list[tuple[int, AttendanceSignal]] = []
    for enrolment_id, kind in sorted(pairs):
        enrolment = enrolments.get(enrolment_id)
        if enrolment is None:
            continue
        signal, concern = active.get((enrolment_id, kind)), concerns.get((enrolment_id, kind))
        if signal is not None:
            if concern is None:
                concern = Concern(school=school, enrolment_id=enrolment_id, pupil_id=enrolment.pupil_id, kind=kind,
                                  since=signal.since)
                new_concerns.append(concern)
            elif concern.active and concern.since == signal.since and concern.sessions == signal.sessions:
                continue
            else:
                changed_concerns.append(concern)
            was_active = concern.active and concern.pk is not None
            concern.active, concern.since, concern.sessions = True, signal.since, signal.sessions
            concern.evidence, concern.updated_at = signal.evidence, now
            if was_active:
                continue  # the same concern, its start moved: not a new one
            raised.append((enrolment_id, signal))
            clocks += _clocks_for(school=school, enrolment=enrolment, kind=kind, since=signal.since, on=on)
        elif concern is not None and concern.active:
            concern.active, concern.updated_at = False, now
            changed_concerns.append(concern)
            case = cases.get(enrolment_id)
            if case is not None:
                result.ended += 1
                events.append(CaseEvent(school=school, case=case, kind=EventKind.SIGNAL_ENDED,
                                        title=f"Ended: {SignalKind(kind).label}", why="The nightly figures",
                                        key=f"ended:{enrolment_id}:{kind}:{concern.since.isoformat()}"))
    Concern.objects.bulk_create(new_concerns)
    Concern.objects.bulk_update(changed_concerns, ["active", "since", "sessions", "evidence", "updated_at"])
    # The ladder's entry conditions on what was raised tonight: which enrolments with no open case open one,
    # at which stage (all opened together, a statement or two per stage), and which open cases a later
    # stage calls on (proposed for a person to move on).
    raised_by: dict[int, list[AttendanceSignal]] = {}
    for enrolment_id, signal in raised:
        raised_by.setdefault(enrolment_id, []).append(signal)
    raised_kinds = {e: {s.kind for s in signals} for e, signals in raised_by.items()}
    figures: dict[int, Any] = {}
    if raised_kinds and needs_figures(stages):
        calendar = calendar_for(school=school)
        figures = figures_year_to_date(school=school, enrolment_ids=list(raised_kinds), on=on, calendar=calendar)
    to_open: dict[int, tuple[AttendanceSignal, LadderStage | None]] = {}
    moves: list[Case] = []
    for enrolment_id, found in raised_kinds.items():
        signals = raised_by[enrolment_id]
        if stages:
            entered = stage_entered(stages=stages, kinds=found, figures=figures.get(enrolment_id))
            opens = entered is not None
        else:  # no ladder yet: the usual concerns open a case on no stage
            entered, opens = None, bool(found & set(DEFAULT_OPENING_KINDS))
        case = cases.get(enrolment_id)
        if case is None and opens:
            entry = entered.entry_kinds if entered else DEFAULT_OPENING_KINDS
            to_open[enrolment_id] = (next((s for s in signals if s.kind in entry), signals[0]), entered)
        elif case is not None and entered is not None:
            move = move_called_for(stages=stages, position=case.stage.position if case.stage else 0, entered=entered,
                                   kinds=found, stage_since=case.stage_since, improved=case.improved,
                                   scheduled_ahead=True, cutoffs={})
            if move is not None and not case.next_action.startswith(MOVE_PREFIX):
                case.next_action, case.next_due = move.next_action, on
                moves.append(case)
    Case.objects.bulk_update(moves, ["next_action", "next_due"])
    result.moves += len(moves)
    opened: dict[int, Case] = {}
    for position in sorted({stage.position if stage else 0 for _, stage in to_open.values()}):
        group = {e: (s, st) for e, (s, st) in to_open.items() if (st.position if st else 0) == position}
        stage = next(iter(group.values()))[1]
        opened |= _open_many(
            school=school, enrolments=[enrolments[e] for e in group], stage=stage, on=on,
            reasons={e: f"Raised by the data: {_opening_reason(s, stage, raised_kinds[e])}"
                     for e, (s, _) in group.items()},
            keys={e: f"opened:{e}:{s.kind}:{s.since.isoformat()}" for e, (s, _) in group.items()})
    cases |= opened
    result.opened = len(opened)
    result.opened_cases = [c.pk for c in opened.values()]
    for enrolment_id, signal in raised:
        case = cases.get(enrolment_id)
        if case is None:
            continue  # a new concern on the queue, not yet a case
        result.raised += 1
        events.append(CaseEvent(school=school, case=case, kind=EventKind.SIGNAL_RAISED,
                                title=f"Raised: {SignalKind(signal.kind).label}", why="The nightly figures",
                                sessions=_signal_sessions(signal), detail={"since": signal.since.isoformat(),
                                                                           "count": signal.sessions},
                                key=f"raised:{enrolment_id}:{signal.kind}:{signal.since.isoformat()}"))
    CaseEvent.objects.bulk_create(events, ignore_conflicts=True)
    improved = _mark_improved(school=school, cases=list(cases.values()))
    if ladder is not None:
        # The ladder's letters outside the stages, proposed for a person to review (never sent by the sync).
        letters = [(cases[e], ladder.punctuality_letter, LetterKind.PUNCTUALITY) for e, s in raised
                   if s.kind == SignalKind.PUNCTUALITY and e in cases and ladder.punctuality_letter]
        letters += [(c, ladder.praise_letter, LetterKind.PRAISE) for c in cases.values()
                    if c.pk in improved and ladder.praise_letter]
        for case, title, letter_kind in letters:
            with suppress(ValidationError):  # already waiting for approval
                action_propose(case=case, kind=Action.Kind.LETTER, title=title, by=None, letter_kind=letter_kind,
                               on=on)
    for clock in clocks:
        clock.case = cases.get(clock.enrolment_id)
    result.clocks = len(StatutoryClock.objects.bulk_create(clocks, ignore_conflicts=True))


def _opening_reason(signal: AttendanceSignal, stage: LadderStage | None, kinds: set[str]) -> str:
    if stage is None or signal.kind in stage.entry_kinds:
        return SignalKind(signal.kind).label
    return entry_reason(stage=stage, kinds=kinds)


def _signal_sessions(signal: AttendanceSignal) -> list[list[str]]:
    return [list(s) for s in signal.evidence.get("sessions", [])] if isinstance(signal.evidence, dict) else []


def _clocks_for(*, school: School, enrolment: Enrolment, kind: str, since: dt.date,
                on: dt.date) -> list[StatutoryClock]:
    found = []
    if kind in CLOCK_FOR_KIND:
        clock_kind, days = CLOCK_FOR_KIND[kind]
        found.append(StatutoryClock(school=school, enrolment=enrolment, pupil_id=enrolment.pupil_id, kind=clock_kind,
                                    since=since, due=on + dt.timedelta(days=days)))
    if kind in SOCIAL_WORKER_KINDS and enrolment.pupil.has_social_worker:
        found.append(StatutoryClock(school=school, enrolment=enrolment, pupil_id=enrolment.pupil_id,
                                    kind=ClockKind.SOCIAL_WORKER, since=since, due=on))
    return found


def _mark_improved(*, school: School, cases: list[Case]) -> set[int]:
    """A case whose concerns (other than risk) have all ended is marked improved for the queue; returns the
    cases newly marked."""
    if not cases:
        return set()
    still = set(Concern.objects.filter(school=school, active=True, enrolment_id__in=[c.enrolment_id for c in cases])
                .exclude(kind__in=IMPROVED_IGNORES).values_list("enrolment_id", flat=True))
    improved = [c.pk for c in cases if c.enrolment_id not in still and not c.improved]
    recovered = [c.pk for c in cases if c.enrolment_id in still and c.improved]
    Case.objects.filter(school=school, pk__in=improved).update(improved=True)
    Case.objects.filter(school=school, pk__in=recovered).update(improved=False)
    return set(improved)


# ---------------------------------------------------------------- opening and moving cases


def _figures_now(*, school: School, enrolment_id: int, on: dt.date) -> dict[str, Any]:
    calendar = calendar_for(school=school)
    found = figures_year_to_date(school=school, enrolment_ids=[enrolment_id], on=on, calendar=calendar)
    return figures_dict(found.get(enrolment_id))


def _evidence(*, school: School, enrolment_id: int, on: dt.date) -> list[list[str]]:
    return sessions_snapshot(school=school, enrolment_id=enrolment_id,
                             start=evidence_start(calendar_for(school=school), on), end=on)


def _open(*, school: School, enrolment: Enrolment, stage: LadderStage | None, on: dt.date, by: User | None,
          reason: str, key: str = "") -> Case | None:
    """Open a case unless one is open (the partial unique index decides under concurrency): None then."""
    return _open_many(school=school, enrolments=[enrolment], stage=stage, on=on, by=by,
                      reasons={enrolment.pk: reason}, keys={enrolment.pk: key}).get(enrolment.pk)


def _open_many(*, school: School, enrolments: list[Enrolment], stage: LadderStage | None, on: dt.date,
               reasons: dict[int, str], keys: dict[int, str], by: User | None = None) -> dict[int, Case]:
    """Open cases for enrolments with none open, with their "opened" events: the figures and the sessions
    behind them in one statement each, whatever the number. An enrolment that gained an open case meanwhile
    (the partial unique index) is left out."""
    if not enrolments:
        return {}
    made = [Case(school=school, enrolment=e, pupil_id=e.pupil_id, stage=stage, stage_since=on, opened_on=on,
                 opened_reason=reasons[e.pk][:300], owner=by, next_due=on, next_action=_next_action(stage))
            for e in enrolments]
    try:
        with transaction.atomic():
            Case.objects.bulk_create(made)
    except IntegrityError:
        if len(enrolments) == 1:
            return {}
        found: dict[int, Case] = {}
        for e in enrolments:
            found |= _open_many(school=school, enrolments=[e], stage=stage, on=on, reasons=reasons, keys=keys, by=by)
        return found
    calendar = calendar_for(school=school)
    ids = [e.pk for e in enrolments]
    figures = figures_year_to_date(school=school, enrolment_ids=ids, on=on, calendar=calendar)
    sessions = sessions_snapshots(school=school, enrolment_ids=ids, start=evidence_start(calendar, on), end=on)
    CaseEvent.objects.bulk_create([CaseEvent(
        school=school, case=case, kind=EventKind.OPENED, by=by, title="Case opened", why=reasons[case.enrolment_id],
        figures=figures_dict(figures.get(case.enrolment_id)), sessions=sessions.get(case.enrolment_id, []),
        detail={"stage": stage.name if stage else ""}, key=keys.get(case.enrolment_id, ""))
        for case in made], ignore_conflicts=True)
    return {case.enrolment_id: case for case in made}


def _next_action(stage: LadderStage | None) -> str:
    if stage is None:
        return "Review the case"
    offered = [x for x in (stage.letter and f"send '{stage.letter}'", stage.meeting_type and
                           f"hold a {stage.meeting_type.lower()}", stage.plan and "agree a contract or plan",
                           stage.referral and f"refer to {stage.referral}") if x]
    return (f"{stage.name}: " + ", ".join(offered)).capitalize() if offered else stage.name


def case_open(*, school: School, enrolment: Enrolment, by: User, reason: str, on: dt.date | None = None) -> Case:
    """Open a case by hand, with a reason."""
    on = on or timezone.localdate()
    if not reason.strip():
        raise ValidationError("Give a reason for opening the case.")
    if Case.objects.filter(school=school, enrolment=enrolment).exclude(status=Case.Status.CLOSED).exists():
        raise ValidationError("This pupil already has an open case.")
    ladder = ladder_for(school=school, day=on)
    stage = next(iter(ladder_stages(ladder=ladder)), None)
    case = _open(school=school, enrolment=enrolment, stage=stage, on=on, by=by, reason=reason.strip())
    if case is None:
        raise ValidationError("This pupil already has an open case.")
    return case


def event_add(*, case: Case, kind: str, by: User | None, title: str, why: str = "", status: str = "",
              approved_by: User | None = None, detail: dict[str, Any] | None = None,
              on: dt.date | None = None) -> CaseEvent:
    """Append one line to a case's timeline with the figures and the sessions behind it as they are now."""
    on = on or timezone.localdate()
    return CaseEvent.objects.create(
        school_id=case.school_id, case=case, kind=kind, by=by, title=title[:200], why=why, status=status,
        approved_by=approved_by, detail=detail or {},
        figures=_figures_now(school=case.school, enrolment_id=case.enrolment_id, on=on),
        sessions=_evidence(school=case.school, enrolment_id=case.enrolment_id, on=on))


NOTE_KINDS = (EventKind.NOTE, EventKind.CALL, EventKind.HOME_VISIT)


def case_note(*, case: Case, kind: str, by: User, text: str) -> CaseEvent:
    if kind not in NOTE_KINDS:
        raise ValidationError("Choose a note, a phone call or a home visit.")
    if not text.strip():
        raise ValidationError("Write what happened.")
    _require_open(case)
    return event_add(case=case, kind=kind, by=by, title=EventKind(kind).label, why=text.strip())


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise ValidationError("This case is closed.")


def case_stage_move(*, case: Case, stage: LadderStage, by: User, roles: frozenset[Role], why: str,
                    on: dt.date | None = None) -> Case:
    """Move a case to another stage of the ladder in force; the ladder in force says, at the case's place on
    it, who may move it on."""
    on = on or timezone.localdate()
    _require_open(case)
    if not why.strip():
        raise ValidationError("Say why the case moves.")
    current = ladder_for(school=case.school, day=on)
    now = stage_in_force(case=case, ladder=current)
    if now is not None and not now.may_move(roles):
        raise PermissionDenied(f"At '{now.name}' the ladder reserves this decision to "
                               f"{', '.join(Role(r).label.lower() for r in now.movers)}.")
    if current is None or stage.ladder_id != current.pk:
        raise ValidationError("Choose a stage of the ladder in force.")
    before = case.stage.name if case.stage else "no stage"
    case.stage, case.stage_since = stage, on
    case.next_action, case.next_due = _next_action(stage), on
    case.save(update_fields=["stage", "stage_since", "next_action", "next_due"])
    event_add(case=case, kind=EventKind.STAGE, by=by, title=f"Moved from {before} to {stage.name}", why=why.strip(),
              detail={"from": before, "to": stage.name, "stage_id": stage.pk})
    return case


def case_owner_set(*, case: Case, owner: User, by: User) -> Case:
    _require_open(case)
    case.owner = owner
    case.save(update_fields=["owner"])
    event_add(case=case, kind=EventKind.OWNER, by=by, title=f"Owner: {owner.get_full_name() or owner.username}")
    return case


def case_close(*, case: Case, outcome: str, by: User, why: str, on: dt.date | None = None) -> Case:
    on = on or timezone.localdate()
    _require_open(case)
    if outcome not in {o for o in Case.Outcome.values if o}:
        raise ValidationError("Choose an outcome: improved, left, referred or other.")
    if not why.strip():
        raise ValidationError("Say why the case is closed.")
    with transaction.atomic():
        Action.objects.filter(school_id=case.school_id, case=case,
                              status__in=[Action.Status.PROPOSED, Action.Status.HELD]).update(
            status=Action.Status.WITHDRAWN, decided_at=timezone.now(), reason="Case closed")
        case.status, case.outcome, case.closed_on, case.next_due = Case.Status.CLOSED, outcome, on, None
        case.save(update_fields=["status", "outcome", "closed_on", "next_due"])
        event_add(case=case, kind=EventKind.CLOSED, by=by, title=f"Closed: {Case.Outcome(outcome).label}",
                  why=why.strip(), on=on)
    return case


def case_monitor(*, case: Case, by: User, why: str) -> Case:
    _require_open(case)
    case.status = Case.Status.MONITORING if case.status == Case.Status.OPEN else Case.Status.OPEN
    case.save(update_fields=["status"])
    event_add(case=case, kind=EventKind.STATUS, by=by, title=f"Status: {case.get_status_display()}", why=why)
    return case


# ---------------------------------------------------------------- formal actions and context review


def action_propose(*, case: Case, kind: str, title: str, by: User | None, stage: LadderStage | None = None,
                   meeting: Meeting | None = None, contract: AttendanceContract | None = None,
                   letter_kind: str = "", on: dt.date | None = None) -> Action:
    """Propose a formal action. The school's hold rules are applied to the pupil's context: a held action
    waits for a person to approve it, change it or record support instead."""
    on = on or timezone.localdate()
    _require_open(case)
    if kind not in Action.Kind.values:
        raise ValidationError("Unknown kind of action.")
    if letter_kind and letter_kind not in LetterKind.values:
        raise ValidationError("Unknown kind of letter.")
    if not title.strip():
        raise ValidationError("Name the letter or action.")
    if Action.objects.filter(school_id=case.school_id, case=case, kind=kind, title=title,
                             status__in=[Action.Status.PROPOSED, Action.Status.HELD]).exists():
        raise ValidationError(f"'{title}' is already waiting for approval.")
    holds = context_for(school=case.school, case=case, on=on).holds
    stage = stage or stage_in_force(case=case, on=on)
    return Action.objects.create(
        school_id=case.school_id, case=case, kind=kind, title=title.strip()[:160], proposed_by=by,
        status=Action.Status.HELD if holds else Action.Status.PROPOSED, hold_reasons=holds,
        stage=stage, meeting=meeting, contract=contract,
        letter_kind=letter_kind or _letter_kind(kind=kind, stage=stage, contract=contract),
        sessions=_evidence(school=case.school, enrolment_id=case.enrolment_id, on=on))


def _letter_kind(*, kind: str, stage: LadderStage | None, contract: AttendanceContract | None) -> str:
    """The letters engine's kind for an action: a stage letter by the stage's place on the ladder."""
    if kind == Action.Kind.LETTER:
        return f"stage_{min(max(stage.position, 1), 5)}" if stage else LetterKind.STAGE_1
    if kind == Action.Kind.CONTRACT:
        return LetterKind.ACTION_PLAN if contract and contract.kind == PlanKind.ACTION_PLAN else LetterKind.CONTRACT
    return {Action.Kind.INVITATION: LetterKind.MEETING_INVITATION, Action.Kind.NOTICE: LetterKind.NOTICE_TO_IMPROVE,
            Action.Kind.REFERRAL: LetterKind.LA_REFERRAL}[Action.Kind(kind)]


def _letters_send(*, action: Action, by: User) -> list[int]:
    """Ask the letters engine for the action's letter, one per parent with parental responsibility, in the
    caller's transaction (rendered and sent once it commits). Its refusal becomes the action's refusal."""
    extra: dict[str, Any] = {}
    if action.meeting is not None:
        when = timezone.localtime(action.meeting.when)
        extra["meeting"] = {"date": when.date(), "time": f"{when:%H:%M}", "place": action.meeting.place,
                            "with": ", ".join(i["name"] for i in action.meeting.invitees
                                              if i.get("role", "").lower() != "parent")}
    if action.contract is not None:
        extra["deadline"] = action.contract.review_on
    try:
        letters = letter_request(school=action.case.school, pupil=action.case.pupil, kind=action.letter_kind,
                                 by=by, approved_by=by, sessions=action.sessions, extra=extra or None,
                                 case_ref=f"case:{action.case_id}")
    except ValueError as error:
        raise ValidationError(str(error)) from error
    return [letter.pk for letter in letters]


def stage_letter_propose(*, case: Case, by: User | None, kind: str = Action.Kind.LETTER) -> Action:
    """Propose what the case's stage offers in the ladder in force: its letter, its notice to improve or its
    referral."""
    stage = stage_in_force(case=case)
    offered: dict[str, str] = {Action.Kind.LETTER: stage.letter, Action.Kind.NOTICE: stage.notice,
                               Action.Kind.REFERRAL: stage.referral} if stage else {}
    if not offered.get(kind):
        raise ValidationError("This stage does not offer that.")
    title = offered[kind] if kind == Action.Kind.LETTER else f"{Action.Kind(kind).label}: {offered[kind]}"
    return action_propose(case=case, kind=kind, title=title, by=by, stage=stage)


def bulk_letters_propose(*, school: School, case_ids: list[int], by: User) -> tuple[list[Action], list[str]]:
    """Propose each selected case's stage letter; returns the actions and the reasons some were not."""
    actions, skipped = [], []
    for case in Case.objects.filter(school=school, pk__in=case_ids).exclude(status=Case.Status.CLOSED) \
            .select_related("pupil", "stage"):
        try:
            actions.append(stage_letter_propose(case=case, by=by))
        except ValidationError as error:
            skipped.append(f"{case.pupil.full_name}: {' '.join(error.messages)}")
    return actions, skipped


DECISIONS = ("approve", "change", "support")


def action_decide(*, action: Action, decision: str, by: User, reason: str = "", title: str = "",
                  support_kind: str = "") -> Action:
    """Approve, change (then approve the changed action) or record support instead. The approver is named
    on the action and on the timeline, with the pupil's context as it was shown."""
    if decision not in DECISIONS:
        raise ValidationError("Choose approve, change or record support instead.")
    if action.status not in (Action.Status.PROPOSED, Action.Status.HELD):
        raise ValidationError("This action has already been decided.")
    if action.status == Action.Status.HELD and not reason.strip():
        raise ValidationError("This action was held by the school's rules: give a reason for your decision.")
    if decision == "change" and not title.strip():
        raise ValidationError("Name the action to send instead.")
    if decision == "support" and support_kind not in SupportRecord.Kind.values:
        raise ValidationError("Choose the support to record.")
    case = action.case
    context = context_for(school=case.school, case=case)
    now = timezone.now()
    with transaction.atomic():
        event_add(case=case, kind=EventKind.CONTEXT_REVIEW, by=by, title="Context reviewed", why=reason,
                  detail={"illness_share": context.illness_share, "holds": context.holds, "sen": context.sen_label,
                          "social_worker": context.social_worker, "looked_after": context.looked_after,
                          "young_carer": context.young_carer, "open_leave": context.open_leave,
                          "action": action.title})
        if decision == "support":
            action.status = Action.Status.REPLACED
            support_record(case=case, kind=support_kind, offered_on=timezone.localdate(), by=by,
                           note=reason or f"Instead of {action.title}")
        else:
            if decision == "change":
                action.title = title.strip()[:160]
            action.status = Action.Status.TO_SEND
            action.letter_ids = _letters_send(action=action, by=by)
            kind = {Action.Kind.LETTER: EventKind.LETTER, Action.Kind.INVITATION: EventKind.LETTER,
                    Action.Kind.CONTRACT: EventKind.CONTRACT, Action.Kind.NOTICE: EventKind.NOTICE,
                    Action.Kind.REFERRAL: EventKind.REFERRAL}[Action.Kind(action.kind)]
            CaseEvent.objects.create(
                school_id=case.school_id, case=case, kind=kind, by=by, approved_by=by, status="sent to the letters",
                title=f"{action.get_kind_display()}: {action.title}", why=reason, sessions=action.sessions,
                figures=_figures_now(school=case.school, enrolment_id=case.enrolment_id, on=timezone.localdate()),
                detail={"action_id": action.pk, "letter_ids": action.letter_ids, "letter_kind": action.letter_kind})
        action.approved_by, action.decided_at, action.reason = by, now, reason.strip()[:300]
        action.save(update_fields=["title", "status", "approved_by", "decided_at", "reason", "letter_ids"])
    return action


# ---------------------------------------------------------------- meetings


def meeting_create(*, case: Case, meeting_type: str, when: dt.datetime, place: str, invitees: list[dict[str, str]],
                   by: User) -> Meeting:
    """Arrange a meeting; its invitation is proposed for approval like any letter."""
    _require_open(case)
    if not meeting_type.strip() or not place.strip():
        raise ValidationError("Give the meeting's type and place.")
    if not invitees:
        raise ValidationError("Invite at least one person.")
    with transaction.atomic():
        meeting = Meeting.objects.create(school_id=case.school_id, case=case, meeting_type=meeting_type.strip(),
                                         when=when, place=place.strip(), invitees=invitees, created_by=by)
        action_propose(case=case, kind=Action.Kind.INVITATION,
                       title=f"Invitation: {meeting.meeting_type}, {timezone.localtime(when):%-d %B %Y at %H:%M}",
                       by=by, meeting=meeting)
        event_add(case=case, kind=EventKind.MEETING, by=by, title=f"Meeting arranged: {meeting.meeting_type}",
                  detail={"meeting_id": meeting.pk, "when": when.isoformat(), "place": place})
    return meeting


def meeting_record(*, meeting: Meeting, status: str, by: User, attended: list[str], minutes: str,
                   agreed_actions: list[dict[str, str]], roles: frozenset[Role] = frozenset()) -> Meeting:
    """Record what happened. 'Did not attend' moves the case on when the stage's escalation rule says so."""
    if status not in (Meeting.Status.HELD, Meeting.Status.DID_NOT_ATTEND):
        raise ValidationError("Record the meeting as held or as not attended.")
    if meeting.status != Meeting.Status.PLANNED:
        raise ValidationError("This meeting has already been recorded.")
    if status == Meeting.Status.HELD and not minutes.strip():
        raise ValidationError("Write the minutes of the meeting.")
    case = meeting.case
    with transaction.atomic():
        meeting.status, meeting.attended, meeting.minutes = status, attended, minutes.strip()
        meeting.agreed_actions = agreed_actions
        meeting.save(update_fields=["status", "attended", "minutes", "agreed_actions"])
        event_add(case=case, kind=EventKind.MEETING, by=by,
                  title=f"{meeting.meeting_type}: {meeting.get_status_display().lower()}", why=minutes.strip(),
                  detail={"meeting_id": meeting.pk, "attended": attended, "agreed_actions": agreed_actions})
        dues = [a.get("due", "") for a in agreed_actions if a.get("due")]
        if dues:
            case.next_due, case.next_action = dt.date.fromisoformat(min(dues)), "Agreed actions from the meeting"
            case.save(update_fields=["next_due", "next_action"])
        ladder = ladder_for(school=case.school, day=timezone.localdate())
        stage = stage_in_force(case=case, ladder=ladder)
        if status == Meeting.Status.DID_NOT_ATTEND and stage and stage.escalate_on_did_not_attend:
            following = [s for s in ladder_stages(ladder=ladder or stage.ladder) if s.position > stage.position]
            if following:
                case.next_action = f"{MOVE_PREFIX}{following[0].name} (the parents did not attend)"[:200]
                case.next_due = timezone.localdate()
                case.save(update_fields=["next_action", "next_due"])
    return meeting


def meeting_rearrange(*, meeting: Meeting, when: dt.datetime, place: str, why: str, by: User) -> Meeting:
    """Move a planned meeting: the old one is kept as rearranged, a new one takes its place with the same
    invitees, an invitation not yet approved is withdrawn, and the new time's letter is proposed."""
    case = meeting.case
    _require_open(case)
    if meeting.status != Meeting.Status.PLANNED:
        raise ValidationError("Only a planned meeting can be rearranged.")
    if not place.strip():
        raise ValidationError("Give the meeting's place.")
    if not why.strip():
        raise ValidationError("Say why the meeting moves.")
    def minute(moment: dt.datetime) -> dt.datetime:
        return moment.replace(second=0, microsecond=0)

    if minute(when) == minute(meeting.when) and place.strip() == meeting.place:
        raise ValidationError("Give a new time or a new place.")
    with transaction.atomic():
        meeting.status = Meeting.Status.REARRANGED
        meeting.save(update_fields=["status"])
        Action.objects.filter(school_id=case.school_id, meeting=meeting,
                              status__in=[Action.Status.PROPOSED, Action.Status.HELD]).update(
            status=Action.Status.WITHDRAWN)
        new = Meeting.objects.create(school_id=case.school_id, case=case, meeting_type=meeting.meeting_type,
                                     when=when, place=place.strip(), invitees=meeting.invitees,
                                     rearranged_from=meeting, created_by=by)
        action_propose(case=case, kind=Action.Kind.INVITATION, by=by, meeting=new,
                       letter_kind=LetterKind.MEETING_REARRANGED,
                       title=f"New time: {new.meeting_type}, {timezone.localtime(when):%-d %B %Y at %H:%M}")
        event_add(case=case, kind=EventKind.MEETING, by=by, title=f"Meeting rearranged: {new.meeting_type}",
                  why=why.strip(), detail={"meeting_id": new.pk, "from_meeting_id": meeting.pk,
                                           "from": meeting.when.isoformat(), "when": when.isoformat(),
                                           "place": new.place})
    return new


# ---------------------------------------------------------------- contracts and plans


def contract_create(*, case: Case, kind: str, start: dt.date, end: dt.date, target_percent: Decimal,
                    parent_commitments: str, school_support: str, by: User, la_support: str = "", reasons: str = "",
                    pupil_views: str = "", issues: list[str] | None = None,
                    agreed_actions: list[dict[str, str]] | None = None, review_weeks: int | None = None,
                    legal_consequences_explained: bool = False) -> AttendanceContract:
    """An attendance contract or action plan; its review date comes from the stage (school weeks)."""
    _require_open(case)
    if kind not in (PlanKind.CONTRACT, PlanKind.ACTION_PLAN):
        raise ValidationError("Choose an attendance contract or an action plan.")
    if end < start:
        raise ValidationError("The end of the agreed period must be after its start.")
    if not (Decimal(0) < target_percent <= Decimal(100)):
        raise ValidationError("The target attendance must be between 0 and 100%.")
    if not parent_commitments.strip() or not school_support.strip():
        raise ValidationError("Write what the parents agree to do and the support the school will give.")
    stage = stage_in_force(case=case)
    weeks = review_weeks or (stage.review_after_weeks if stage else None) or DEFAULT_REVIEW_WEEKS
    review_on = min(calendar_for(school=case.school).school_weeks_after(start, weeks), end)
    with transaction.atomic():
        contract = AttendanceContract.objects.create(
            school_id=case.school_id, case=case, kind=kind, start=start, end=end, review_on=review_on,
            target_percent=target_percent, parent_commitments=parent_commitments.strip(),
            school_support=school_support.strip(), la_support=la_support, reasons=reasons, pupil_views=pupil_views,
            issues=issues or [], agreed_actions=agreed_actions or [],
            legal_consequences_explained=legal_consequences_explained, created_by=by)
        StatutoryClock.objects.create(school_id=case.school_id, enrolment_id=case.enrolment_id,
                                      pupil_id=case.pupil_id, case=case, kind=ClockKind.REVIEW, since=start,
                                      due=review_on)
        event_add(case=case, kind=EventKind.CONTRACT, by=by,
                  title=f"{contract.get_kind_display()} agreed, review by {review_on:%-d %B %Y}",
                  detail={"contract_id": contract.pk, "target": str(target_percent)})
        action_propose(case=case, kind=Action.Kind.CONTRACT, title=f"{contract.get_kind_display()} for signature",
                       by=by, contract=contract)
        case.next_due, case.next_action = review_on, f"Review the {contract.get_kind_display().lower()}"
        case.save(update_fields=["next_due", "next_action"])
    return contract


def contract_figures(*, contract: AttendanceContract, on: dt.date | None = None) -> dict[str, Any]:
    on = on or timezone.localdate()
    found = figures_for(school=contract.case.school, enrolment_ids=[contract.case.enrolment_id],
                        start=contract.start, end=min(on, contract.monitoring_end))
    return figures_dict(found.get(contract.case.enrolment_id))


CONTRACT_OUTCOMES = ("improved", "extended", "referred", "ended")


def contract_review(*, contract: AttendanceContract, outcome: str, by: User, why: str,
                    on: dt.date | None = None) -> AttendanceContract:
    """Review with the monitoring period's figures from the statistics engine; extend by the stage's weeks."""
    on = on or timezone.localdate()
    if outcome not in CONTRACT_OUTCOMES:
        raise ValidationError("Choose an outcome: improved, extended, referred or ended.")
    if contract.status != AttendanceContract.Status.ACTIVE:
        raise ValidationError("This contract or plan is not in force.")
    case = contract.case
    figures = contract_figures(contract=contract, on=on)
    with transaction.atomic():
        StatutoryClock.objects.filter(school_id=case.school_id, case=case, kind=ClockKind.REVIEW,
                                      done_at__isnull=True).update(done_at=timezone.now(), done_by=by,
                                                                   note=f"Reviewed: {outcome}")
        if outcome == "extended":
            stage = stage_in_force(case=case)
            weeks = (stage.extend_weeks if stage else None) or DEFAULT_REVIEW_WEEKS
            contract.extended_to = calendar_for(school=case.school).school_weeks_after(on, weeks)
            StatutoryClock.objects.create(school_id=case.school_id, enrolment_id=case.enrolment_id,
                                          pupil_id=case.pupil_id, case=case, kind=ClockKind.REVIEW, since=on,
                                          due=contract.extended_to)
            case.next_due = contract.extended_to
        else:
            contract.status = AttendanceContract.Status.ENDED
            case.next_due = on
        contract.outcome = outcome
        contract.save(update_fields=["extended_to", "status", "outcome"])
        rate = figures.get("rate")
        event_add(case=case, kind=EventKind.REVIEW, by=by,
                  title=f"{contract.get_kind_display()} reviewed: {outcome}"
                        + (f" (attendance {rate}% against a target of {contract.target_percent}%)" if rate is not None
                           else ""), why=why, detail={"contract_id": contract.pk, "monitoring": figures})
        case.next_action = {"improved": "Close the case as improved", "referred": "Refer to the local authority",
                            "extended": "Review the extended plan", "ended": "Decide the next step"}[outcome]
        case.save(update_fields=["next_due", "next_action"])
    return contract


# ---------------------------------------------------------------- support and clocks


def support_record(*, case: Case, kind: str, offered_on: dt.date, by: User, taken_up: str = "pending",
                   provider: str = "", note: str = "") -> SupportRecord:
    _require_open(case)
    if kind not in SupportRecord.Kind.values:
        raise ValidationError("Choose the kind of support.")
    if taken_up not in SupportRecord.TakenUp.values:
        raise ValidationError("Say whether the support was taken up.")
    record = SupportRecord.objects.create(school_id=case.school_id, case=case, kind=kind, offered_on=offered_on,
                                          taken_up=taken_up, provider=provider, note=note, recorded_by=by)
    event_add(case=case, kind=EventKind.SUPPORT, by=by,
              title=f"Support: {record.get_kind_display()} ({record.get_taken_up_display().lower()})", why=note)
    return record


def clock_done(*, clock: StatutoryClock, by: User, note: str) -> StatutoryClock:
    if not note.strip():
        raise ValidationError("Say what was done (for example who at the local authority was told).")
    done = StatutoryClock.objects.filter(school_id=clock.school_id, pk=clock.pk, done_at__isnull=True).update(
        done_at=timezone.now(), done_by=by, note=note.strip()[:300])
    if not done:
        raise ValidationError("This task is already recorded as done.")
    clock.refresh_from_db()
    if clock.case is not None:
        event_add(case=clock.case, kind=EventKind.CLOCK, by=by, title=f"Done: {clock.get_kind_display()}",
                  why=note.strip())
    return clock


def pupil_for_enrolment(*, school: School, enrolment_id: int) -> Pupil:
    return Enrolment.objects.select_related("pupil").get(school=school, pk=enrolment_id).pupil


CONTEXT_FIELDS = ("young_carer", "health_plan", "safeguarding_flag")  # PupilContext's flags, named by the model


def pupil_context_save(*, case: Case, by: User, why: str, **flags: bool) -> PupilContext:
    """Record what the register does not hold about the pupil (read by every context review), with the
    change and its reason on the case's timeline. The safeguarding flag says only that a note exists."""
    if set(flags) != set(CONTEXT_FIELDS):
        raise ValidationError("Say yes or no for each part of the context.")
    if not why.strip():
        raise ValidationError("Say how you know (for example: the SENCo's note of 3 March).")
    _require_open(case)
    context, _ = PupilContext.objects.get_or_create(school_id=case.school_id, pupil_id=case.pupil_id)
    changes = [f"{PupilContext._meta.get_field(name).verbose_name.lower()}: {'yes' if flags[name] else 'no'}"  # type: ignore[union-attr]  # a model's own field, never a relation
               for name in CONTEXT_FIELDS if getattr(context, name) != flags[name]]
    if not changes:
        raise ValidationError("Nothing has changed.")
    for name in CONTEXT_FIELDS:
        setattr(context, name, flags[name])
    context.save(update_fields=list(CONTEXT_FIELDS))
    event_add(case=case, kind=EventKind.CONTEXT_REVIEW, by=by, title="Pupil context: " + "; ".join(changes),
              why=why.strip(), detail={"context": flags})
    return context
