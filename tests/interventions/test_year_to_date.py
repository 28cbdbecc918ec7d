"""Casework's year-to-date figures belong to the academic year containing the day (registers.calendar)."""

from __future__ import annotations

import datetime as dt

import pytest
from django_scopes import scope

from interventions.selectors import figures_year_to_date, year_start
from registers.calendar import calendar_for

from .conftest import ON, absent_pupil

pytestmark = pytest.mark.django_db


def test_no_year_to_date_figures_in_the_september_gap(school):
    """Before 2026/27 is set up, 7 September 2026 has no year: last year's absence is not counted as this
    year's (it used to reach back 365 days)."""
    enrolment = absent_pupil(school, upn="Y00000000001A")
    calendar = calendar_for(school=school)
    with scope(school=school):
        during = figures_year_to_date(school=school, enrolment_ids=[enrolment.pk], on=ON, calendar=calendar)
        gap = figures_year_to_date(school=school, enrolment_ids=[enrolment.pk], on=dt.date(2026, 9, 7),
                                   calendar=calendar)
    assert year_start(calendar, ON) == dt.date(2025, 9, 1)
    assert during[enrolment.pk].possible == 40 and during[enrolment.pk].absence == 20
    assert year_start(calendar, dt.date(2026, 9, 7)) is None
    assert gap == {}
