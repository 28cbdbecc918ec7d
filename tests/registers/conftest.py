"""A school with a calendar and one registration group of pupils, for the marking tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django_scopes import scopes_disabled

from attendance_portal.models import School, User
from registers.models import Pupil, RegistrationGroup
from tests import factories as f
from tests.conftest import add_calendar

MONDAY = dt.date(2025, 9, 8)


@dataclass
class Klass:
    school: School
    group: RegistrationGroup
    pupils: list[Pupil]
    office: User
    teacher: User
    head: User


def make_class(school: School, size: int, *, name: str = "5B", calendar: bool = True) -> tuple[RegistrationGroup,
                                                                                          list[Pupil]]:
    with scopes_disabled():
        if calendar:
            add_calendar(school)
        group = f.RegistrationGroupFactory(school=school, name=name, year_group="5")
        pupils = [
            f.EnrolmentFactory(pupil__school=school, pupil__registration_group=group,
                               pupil__forename=f"Pupil{i:02d}", pupil__surname=f"Surname{i:02d}").pupil
            for i in range(size)
        ]
    return group, pupils


@pytest.fixture
def klass(world: Any) -> Klass:
    group, pupils = make_class(world.school, 5)
    return Klass(world.school, group, pupils, world.users["office_staff"], world.users["class_teacher"],
                 world.users["headteacher"])
