"""Casework objects built directly in a school (every sub-object in the same school)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_scopes import scope

from attendance_portal.models import School
from interventions.models import Action, AttendanceContract, Case, ClockKind, Meeting, StatutoryClock
from tests import factories as f


def make_case(school: School) -> Case:
    enrolment = f.EnrolmentFactory(pupil__school=school)
    f.PupilContactFactory(pupil=enrolment.pupil, guardian__school=school)
    return Case.objects.create(school=school, enrolment=enrolment, pupil=enrolment.pupil, opened_reason="test")


def make_action(school: School) -> Action:
    return Action.objects.create(school=school, case=make_case(school), kind=Action.Kind.LETTER, title="Letter 1")


def make_meeting(school: School) -> Meeting:
    return Meeting.objects.create(school=school, case=make_case(school), meeting_type="Attendance meeting",
                                  when=timezone.now() + dt.timedelta(days=3), place="Room 1",
                                  invitees=[{"name": "Sam Hale", "role": "parent"}])


def make_contract(school: School) -> AttendanceContract:
    return AttendanceContract.objects.create(
        school=school, case=make_case(school), kind="contract", start=dt.date(2025, 10, 1), end=dt.date(2026, 3, 1),
        review_on=dt.date(2025, 11, 14), target_percent=Decimal("95"), parent_commitments="Bring him on time",
        school_support="Breakfast club")


def make_clock(school: School) -> StatutoryClock:
    case = make_case(school)
    return StatutoryClock.objects.create(school=school, enrolment=case.enrolment, pupil=case.pupil, case=case,
                                         kind=ClockKind.LA_NOTIFICATION, since=dt.date(2025, 10, 1),
                                         due=dt.date(2025, 10, 2))


STAGE_FIELDS = ("name", "entry_kinds", "entry_below_percent", "letter", "meeting_type", "plan", "review_after_weeks",
                "extend_weeks", "notice", "referral", "movers", "escalate_after_weeks", "escalate_on_did_not_attend")


def stage_specs(school: School, day: dt.date | None = None) -> list[dict[str, Any]]:
    """The stages of the ladder in force on `day` (today), as the ladder page's form holds them."""
    from interventions.selectors import ladder_for, ladder_stages

    with scope(school=school):
        ladder = ladder_for(school=school, day=day or timezone.localdate())
        return [{name: getattr(s, name) for name in STAGE_FIELDS} for s in ladder_stages(ladder=ladder)]


def payload(stages: list[dict[str, Any]], *, extra: dict[str, Any] | None = None, remove: tuple[int, ...] = (),
            **ladder: Any) -> dict[str, Any]:
    """The ladder page's POST: the ladder's fields, then one form per stage as the page renders them (and
    `extra`, the empty form for a new stage, filled in)."""
    data: dict[str, Any] = {"name": "Listen, support, formalise", "punctuality_letter": "", "praise_letter": "",
                            "effective_from": "", "stages-TOTAL_FORMS": str(len(stages) + (1 if extra else 0)),
                            "stages-INITIAL_FORMS": str(len(stages)), "stages-MIN_NUM_FORMS": "0",
                            "stages-MAX_NUM_FORMS": "12"} | ladder
    for n, stage in enumerate([*stages, *([extra] if extra else [])]):
        for name, value in stage.items():
            key = f"stages-{n}-{name}"
            if isinstance(value, list):
                data[key] = value
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif value is not None:
                data[key] = str(value)
        if n in remove:
            data[f"stages-{n}-DELETE"] = "on"
    return data


def ladder_change(school: School) -> dict[str, Any]:
    """A change the ladder page would save (stage 2 reserved to the headteacher), on the school's ladder."""
    from tests.interventions.conftest import ladder_for_tests

    if not stage_specs(school):
        ladder_for_tests(school)
    stages = stage_specs(school)
    stages[1]["movers"] = ["headteacher"]
    return payload(stages, save="1")
