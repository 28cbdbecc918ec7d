"""Demo additions that show a school day: the last school day's registers partly taken, parents' reports
waiting for the office, leave requests waiting for the headteacher, and teachers linked to their groups.

Called from `attendance_portal.demo` for each school, after its marks, so a new user sees every queue with
work in it whether the demo is opened on a school day, a weekend or in the holidays.
"""

from __future__ import annotations

import datetime as dt
import random

from absence.models import AbsenceReport, LeaveRequest
from absence.services import reference_new
from attendance_portal.models import Membership, School
from attendance_portal.roles import Role
from registers import codes
from registers.calendar import school_day_latest, school_day_step, school_sessions
from registers.marking import pupils_enrolled
from registers.selectors import registration_groups
from registers.services import MarkEntry, marks_save

from .models import GroupTeacher

# Two registers in three of the last school day's morning are taken; the afternoon is still to come.
TAKEN_SHARE = 2 / 3


def demo_marks_until(*, school: School, today: dt.date) -> dt.date:
    """Whole days of marks run to the day before the last school day, which `demo_school_day` partly takes."""
    return school_day_latest(school=school, day=today) - dt.timedelta(days=1)


def demo_school_day(*, rng: random.Random, school: School, today: dt.date) -> None:
    day = school_day_latest(school=school, day=today)
    groups = registration_groups(school=school)
    teacher = Membership.objects.filter(school=school, role=Role.CLASS_TEACHER).select_related("user").first()
    if teacher is not None and groups:
        GroupTeacher.objects.get_or_create(school=school, group=groups[0], user=teacher.user)
    pupils = list(pupils_enrolled(school=school, day=day).order_by("upn"))
    taken_groups = {g.pk for g in groups[:round(len(groups) * TAKEN_SHARE)]}
    entries = []
    for pupil in pupils:
        if pupil.registration_group_id not in taken_groups:
            continue
        roll = rng.random()
        if roll < 0.04:
            entries.append(MarkEntry(pupil.pk, day, "AM", "N"))
        elif roll < 0.07:
            entries.append(MarkEntry(pupil.pk, day, "AM", "L", rng.randrange(2, 14)))
        else:
            entries.append(MarkEntry(pupil.pk, day, "AM", codes.present_code("AM")))
    if entries and school_sessions(school=school, start=day, end=day):
        marks_save(school=school, entries=entries, by=teacher.user if teacher else None, source="demo data")
    waiting = [p for p in pupils if p.registration_group_id not in taken_groups] or pupils
    _reports(rng, school, day, waiting)
    _leave(rng, school, day, pupils)


def _reports(rng: random.Random, school: School, day: dt.date, pupils: list) -> None:
    """Three parents' reports for the office to accept: two for the day shown, one for the next school day."""
    after = school_day_step(school=school, day=day, step=1) or day
    for pupil, first, category, message in zip(
        rng.sample(pupils, min(3, len(pupils))), (day, day, after),
        (AbsenceReport.Category.ILLNESS, AbsenceReport.Category.APPOINTMENT, AbsenceReport.Category.ILLNESS),
        ("Sickness bug overnight, keeping them home.", "Orthodontist at 10:40, back for the afternoon.",
         "Temperature since this evening."), strict=False,
    ):
        AbsenceReport.objects.create(school=school, pupil=pupil, reference=reference_new(kind=AbsenceReport),
                                     first_date=first, last_date=first,
                                     sessions="AM" if category == AbsenceReport.Category.APPOINTMENT else "BOTH",
                                     category=category, message=message)


def _leave(rng: random.Random, school: School, day: dt.date, pupils: list) -> None:
    """Two leave requests waiting for the headteacher, a month ahead."""
    start = school_day_step(school=school, day=day + dt.timedelta(days=27), step=1) or day + dt.timedelta(days=28)
    for pupil, (circumstance, reason, days) in zip(rng.sample(pupils, min(2, len(pupils))), (
        (LeaveRequest.Circumstance.EXCEPTIONAL, "My father's funeral in Lagos; the family travels together.", 3),
        (LeaveRequest.Circumstance.PERFORMANCE, "A licensed role in a touring theatre production.", 2),
    ), strict=False):
        LeaveRequest.objects.create(school=school, pupil=pupil, reference=reference_new(kind=LeaveRequest),
                                    first_date=start,
                                    last_date=start + dt.timedelta(days=days - 1), circumstance=circumstance,
                                    reason=reason)
