"""Casework fixtures: the home school with a calendar and the national ladder, pupils with signals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School
from interventions.ladders import NATIONAL
from interventions.models import Case, Ladder
from interventions.services import cases_sync, ladder_create
from registers.models import Enrolment
from reporting.services import calculation_run
from tests import factories as f
from tests.conftest import add_calendar
from tests.reporting.helpers import enrol, record, school_sessions

ON = dt.date(2025, 10, 24)


def ladder_for_tests(school: School, spec: dict[str, Any] = NATIONAL, day: dt.date = dt.date(2025, 9, 1)) -> Ladder:
    spec = dict(spec)
    stages = spec.pop("stages")
    name = spec.pop("name")
    with scope(school=school):
        return ladder_create(school=school, name=name, effective_from=day, stages=stages, **spec)


def letters_ready(school: School) -> None:
    """The school's default letter templates, as every school gets them, so approved letters can be written."""
    from letters.defaults import templates_install_defaults

    with scope(school=school):
        templates_install_defaults(school=school)


@pytest.fixture
def school(world: Any) -> School:
    add_calendar(world.school)
    ladder_for_tests(world.school)
    letters_ready(world.school)
    return world.school


def absent_pupil(school: School, *, upn: str, codes: str = "." * 20 + "G" * 20, start: dt.date = dt.date(2025, 9, 3),
                 **pupil: Any) -> Enrolment:
    """A pupil whose first sessions of the year are `codes` ('.' present); the default is 50 % absent."""
    with scopes_disabled():
        enrolment = enrol(school, upn=upn, **pupil)
        record(enrolment, school_sessions(school, start, len(codes)), codes)
        f.PupilContactFactory(pupil=enrolment.pupil, guardian__school=school)
    return enrolment


def run_night(school: School, on: dt.date = ON) -> None:
    with scope(school=school):
        calculation_run(school=school, on=on)


def sync(school: School, on: dt.date = ON):  # type: ignore[no-untyped-def]
    with scope(school=school):
        return cases_sync(school=school, on=on)


def open_case(school: School, enrolment: Enrolment) -> Case:
    with scope(school=school):
        # With its pupil and stage, which the tests read after the scope has closed.
        return Case.objects.select_related("pupil", "stage").get(school=school, enrolment=enrolment,
                                                                 status__in=["open", "monitoring"])
