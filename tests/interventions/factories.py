"""Casework objects built directly in a school (every sub-object in the same school)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

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
