"""A school with a calendar, a letterhead, pupils with absences and parents, and a stage-1 template."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django_scopes import scopes_disabled

from attendance_portal.models import School, User
from letters.models import Letterhead, LetterTemplate, RecipientDetails
from registers.models import Guardian, Mark, Pupil
from tests import factories as f
from tests.conftest import add_calendar

STAGE_1_BODY = """We are writing because {{ pupil.forename }}'s attendance this year is \
{{ figures.attendance_percent }}%.
{{ pupil.forename }} has missed {{ figures.sessions_missed }} sessions, which is {{ figures.days_missed }} days.

The sessions we are concerned about:

{{ sessions_table }}

{{ attendance_table }}

Please contact {{ school.attendance_lead }} if there is anything we can do to help.
"""


@dataclass
class Family:
    pupil: Pupil
    parents: list[Guardian]
    users: list[User] = field(default_factory=list)


@dataclass
class LetterWorld:
    school: School
    officer: User
    families: list[Family]
    template: LetterTemplate


def absences(pupil: Pupil, days: list[dt.date], code: str = "O") -> list[tuple[dt.date, str, str]]:
    """Marks a pupil absent (both sessions) on `days` and present on the other weekdays of September 2025."""
    enrolment = pupil.enrolments.first()
    found = []
    day = dt.date(2025, 9, 3)
    with scopes_disabled():  # test data, written straight to the table
        while day <= dt.date(2025, 9, 30):
            if day.weekday() < 5:
                for session in ("AM", "PM"):
                    mark_code = code if day in days else "/"
                    Mark.objects.create(school=pupil.school, pupil=pupil, enrolment=enrolment, date=day,
                                        session=session, code=mark_code)
                    if day in days:
                        found.append((day, session, code))
            day += dt.timedelta(days=1)
    return found


def make_family(school: School, i: int, *, parents: int = 1, email: bool = True, portal: bool = True,
                group: Any = None) -> Family:
    pupil = f.EnrolmentFactory(pupil__school=school, pupil__forename=f"Amira{i}", pupil__surname=f"Okafor{i}",
                               pupil__registration_group=group, admission_date=dt.date(2025, 9, 1)).pupil
    fam = Family(pupil=pupil, parents=[])
    for n in range(parents):
        user = f.UserFactory(username=f"parent{i}-{n}@example.org") if portal else None
        guardian = f.GuardianFactory(school=school, forename=f"Parent{n}", surname=f"Okafor{i}",
                                     email=f"parent{i}-{n}@example.org" if email else "", user=user,
                                     address=f"{i} Mill Lane\nKettering", postcode=f"NN16 {n}AB")
        f.PupilContactFactory(school=school, pupil=pupil, guardian=guardian, priority=n + 1)
        RecipientDetails.objects.create(school=school, guardian=guardian)
        fam.parents.append(guardian)
        if user:
            fam.users.append(user)
    return fam


@pytest.fixture
def lw(world: Any) -> LetterWorld:
    with scopes_disabled():
        add_calendar(world.school)
        add_calendar(world.other)
        Letterhead.objects.create(school=world.school, address="1 School Road\nKettering\nNN16 8AA",
                                  attendance_lead="Mrs Patel", headteacher="Mr Hughes")
        template = LetterTemplate.objects.create(
            school=world.school, kind="stage_1", version=1, subject="{{ pupil.forename }}'s attendance",
            body=STAGE_1_BODY, reply_slip=True)
        group = f.RegistrationGroupFactory(school=world.school, name="5M", year_group="5")
        families = [make_family(world.school, i, group=group) for i in range(3)]
        officer = world.users["attendance_officer"]
        officer.first_name, officer.last_name, officer.position = "Sam", "Reid", "Attendance officer"
        officer.save()
    return LetterWorld(school=world.school, officer=officer, families=families, template=template)
