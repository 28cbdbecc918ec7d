"""Demo casework: each demo school's ladder from its seed policy, and cases at several stages of it.

`demo_ladder` runs while a demo school is created; `demo_cases` runs once the statistics have found the
signals: the nightly case sync opens the cases, then a deterministic share of them is taken further up the
school's own ladder (letters approved, meetings held, contracts agreed, one closed as improved), all
through the services, so the timelines read as they would in use.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope

from attendance_portal.models import Membership, School, User
from attendance_portal.roles import Role

from . import ladders, services
from .models import Action, Case
from .selectors import ladder_stages

SEED_LADDERS: dict[str, dict[str, Any]] = {
    "meadowbrook": ladders.MEADOWSIDE,
    "millbrook": ladders.MICKLEM,
    "moorfield": ladders.MOORLANDS,
    "thameside": ladders.BASILDON,
}


def demo_ladder(*, school: School, effective_from: dt.date) -> None:
    spec = dict(SEED_LADDERS.get(school.slug, ladders.NATIONAL))
    stages = spec.pop("stages")
    services.ladder_create(school=school, name=spec.pop("name"), effective_from=effective_from, stages=stages, **spec)


def demo_cases(*, schools: list[School], on: dt.date) -> None:
    for school in schools:
        with scope(school=school):
            _school_cases(school=school, on=on)


def _officer(school: School) -> User | None:
    member = Membership.objects.filter(school=school, role=Role.ATTENDANCE_OFFICER).select_related("user").first()
    return member.user if member else None


def _school_cases(*, school: School, on: dt.date) -> None:
    services.cases_sync(school=school, on=on)
    officer = _officer(school)
    if officer is None:
        return
    cases = list(Case.objects.filter(school=school).exclude(status=Case.Status.CLOSED)
                 .select_related("stage__ladder", "pupil", "enrolment").order_by("pk"))
    for n, case in enumerate(cases):
        if case.owner_id is None:
            case.owner = officer
            case.save(update_fields=["owner"])
        step = n % 6
        if step == 0:
            continue  # newly raised: the stage letter waits to be proposed
        _letter(case, officer)
        if step >= 2:
            _move_on(case, officer, on)
        if step >= 3:
            _move_on(case, officer, on)
            _meeting(case, officer, on, held=step != 3)
        if step == 5:
            _plan(case, officer, on)
    if len(cases) > 8:
        services.case_close(case=cases[7], outcome=Case.Outcome.IMPROVED, by=officer,
                            why="Attendance back above the school's threshold for six weeks.", on=on)


def _letter(case: Case, officer: User) -> None:
    if case.stage is None or not case.stage.letter:
        return
    try:
        action = services.stage_letter_propose(case=case, by=officer)
    except ValidationError:
        return  # one is already waiting
    reason = "Checked the context: no illness pattern." if action.status == Action.Status.PROPOSED else \
        "Spoke to the family and the SENCo first; the letter still helps."
    with suppress(ValidationError):  # a pupil with no parent on record: it waits for the office to add one
        services.action_decide(action=action, decision="approve", by=officer, reason=reason)


def _move_on(case: Case, officer: User, on: dt.date) -> None:
    stages = ladder_stages(ladder=case.stage.ladder) if case.stage else []
    following = [s for s in stages if case.stage and s.position > case.stage.position]
    if following:
        roles = frozenset(Role(r) for r in following[0].movers) or frozenset({Role.ATTENDANCE_OFFICER})
        services.case_stage_move(case=case, stage=following[0], by=officer,
                                 roles=roles | frozenset({Role.ATTENDANCE_OFFICER, Role.HEADTEACHER}),
                                 why="No improvement after four school weeks.", on=on)


def _meeting(case: Case, officer: User, on: dt.date, *, held: bool) -> None:
    meeting_type = (case.stage.meeting_type if case.stage else "") or "Attendance meeting"
    contacts = list(case.pupil.contacts.select_related("guardian")[:2])
    invitees = [{"name": f"{c.guardian.forename} {c.guardian.surname}", "role": "parent"} for c in contacts] or \
        [{"name": "Parent or carer", "role": "parent"}]
    invitees.append({"name": officer.get_full_name() or officer.username, "role": "attendance officer"})
    when = timezone.make_aware(dt.datetime.combine(on + dt.timedelta(days=2 if not held else -5), dt.time(9, 30)))
    meeting = services.meeting_create(case=case, meeting_type=meeting_type, when=when, place="Family room",
                                      invitees=invitees, by=officer)
    invitation = Action.objects.filter(school=case.school, meeting=meeting).first()
    if invitation is not None and invitation.status in (Action.Status.PROPOSED, Action.Status.HELD):
        with suppress(ValidationError):
            services.action_decide(action=invitation, decision="approve", by=officer, reason="Family agreed the time.")
    if held:
        services.meeting_record(meeting=meeting, status="held", by=officer, attended=[i["name"] for i in invitees],
                                minutes="Talked about mornings and the walk to school. Mum will call by 9:00 on "
                                        "any day of absence.",
                                agreed_actions=[{"action": "Breakfast club place", "owner": "School",
                                                 "due": (on + dt.timedelta(days=7)).isoformat()}])


def _plan(case: Case, officer: User, on: dt.date) -> None:
    kind = (case.stage.plan if case.stage and case.stage.plan else "") or "contract"
    services.contract_create(case=case, kind=kind, start=on, end=on + dt.timedelta(days=120),
                             target_percent=Decimal("95.0"),
                             parent_commitments="Make sure the pupil arrives by 8:50 every day; call the office "
                                                "before 9:00 on any day of absence.",
                             school_support="Breakfast club place; weekly check-in with the learning mentor.",
                             by=officer, issues=["Home", "Transport"], legal_consequences_explained=True)
