"""Penalty-notice casework fixtures: a school in a local authority, a pupil over the national threshold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School, User
from attendance_portal.roles import Role
from interventions.models import Case
from penalties.models import LAOfficer, LocalAuthority
from tests import factories as f
from tests.interventions.conftest import ON, absent_pupil, open_case, run_night, school, sync

__all__ = ["ON", "school"]


@dataclass
class Area:
    essex: LocalAuthority
    kent: LocalAuthority
    essex_officer: User
    kent_officer: User


@pytest.fixture
def area(world: Any) -> Area:
    """Alder and Birch are Essex schools; Cedar and Damson are in Kent. One officer per LA."""
    with scopes_disabled():
        School.objects.filter(pk__in=[world.other.pk, world.standalone.pk]).update(local_authority="Kent")
        world.other.refresh_from_db()
        world.standalone.refresh_from_db()
    essex = LocalAuthority.objects.create(code="essex", name="Essex", nti_weeks=6)
    kent = LocalAuthority.objects.create(code="kent", name="Kent", nti_weeks=4)
    essex_officer = f.UserFactory(username="pn@essex")
    kent_officer = f.UserFactory(username="pn@kent")
    LAOfficer.objects.create(local_authority=essex, user=essex_officer, role=LAOfficer.Role.PENALTY)
    LAOfficer.objects.create(local_authority=kent, user=kent_officer, role=LAOfficer.Role.PENALTY)
    return Area(essex=essex, kent=kent, essex_officer=essex_officer, kent_officer=kent_officer)


def threshold_case(school: School, *, upn: str = "J936200120001", codes: str = "." * 20 + "G" * 20) -> Case:
    """A pupil whose term-time holiday took them over the threshold, with the nightly run and sync done."""
    enrolment = absent_pupil(school, upn=upn, codes=codes)
    run_night(school)
    sync(school)
    return open_case(school, enrolment)


@pytest.fixture
def case(school: School, area: Area) -> Case:
    return threshold_case(school)


def head(world: Any) -> User:
    return world.users[Role.HEADTEACHER.value]


def officer(world: Any) -> User:
    return world.users[Role.ATTENDANCE_OFFICER.value]


def in_scope(school: School) -> Any:
    return scope(school=school)


AFTER = dt.date(2025, 11, 3)  # the first school day after the half-term holiday that follows ON
