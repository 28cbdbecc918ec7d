"""A school with two registration groups and a few pupils on the admission register."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django_scopes import scope

from attendance_portal.models import School
from registers.models import Enrolment, Guardian, Pupil, PupilContact, RegistrationGroup
from registers.upn import upn_make
from tests import factories as f

ADMITTED = dt.date(2025, 9, 3)
_serial = itertools.count(1)


def fresh_upn() -> str:
    return upn_make(886, 4100, 25, next(_serial))


@dataclass
class Adm:
    school: School
    group: RegistrationGroup
    other_group: RegistrationGroup  # a group of another school
    pupil: Pupil
    enrolment: Enrolment

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(f"registers:{name}", kwargs={"school_slug": self.school.slug, **kwargs})


@pytest.fixture
def adm(world: Any) -> Adm:
    group = f.RegistrationGroupFactory(school=world.school, name="5B", year_group="5")
    other_group = f.RegistrationGroupFactory(school=world.other, name="5X", year_group="5")
    enrolment = f.EnrolmentFactory(pupil__school=world.school, pupil__registration_group=group,
                                   pupil__forename="Ada", pupil__surname="Lovelace", admission_date=ADMITTED)
    return Adm(world.school, group, other_group, enrolment.pupil, enrolment)


def counts(school: School) -> dict[str, int]:
    with scope(school=school):
        return {model.__name__: model.objects.filter(school=school).count()
                for model in (Pupil, Enrolment, Guardian, PupilContact)}


def pupil_post(adm: Adm, **overrides: Any) -> dict[str, Any]:
    data = {"upn": fresh_upn(), "forename": "Grace", "surname": "Hopper", "date_of_birth": "2015-06-01",
            "year_group": "5", "registration_group": str(adm.group.pk), "admission_date": "2025-09-03",
            "registration_type": "main"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
