"""Where each pupil's attendance is heading, on the officer's lists and the case page: the at-risk list puts
first the pupils who would become persistently absent soonest (reporting.forecasts)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from interventions.models import Case
from registers.calendar import calendar_for
from reporting.forecasts import pupil_forecasts
from reporting.models import AttendanceSignal, SignalKind
from reporting.services import calculation_run
from tests.conftest import add_calendar
from tests.reporting.helpers import enrol, record, school_sessions

ON = dt.date(2025, 11, 28)


def _pupil(school, surname: str, sessions, codes):
    enrolment = enrol(school, forename="Pat", surname=surname)
    record(enrolment, sessions, codes)
    return enrolment


@pytest.fixture
def slipping(world):
    """Three pupils at risk: Zephyr absent every afternoon for the last fortnight (soonest), Yarrow absent
    every Thursday and Friday afternoon of the last four weeks (later), Abbot present throughout (never)."""
    school = world.school
    with scopes_disabled():
        add_calendar(school)
    sessions = school_sessions(school, dt.date(2025, 9, 3), end=ON)
    with scopes_disabled():
        fast = _pupil(school, "Zephyr", sessions,
                      ["O" if day >= dt.date(2025, 11, 17) and s == "PM" else "." for day, s in sessions])
        slow = _pupil(school, "Yarrow", sessions,
                      ["O" if day >= dt.date(2025, 11, 3) and day.weekday() >= 3 and s == "PM" else "."
                       for day, s in sessions])
        steady = _pupil(school, "Abbot", sessions, ".")
    with scope(school=school):
        calculation_run(school=school)
    with scopes_disabled():
        for e in (fast, slow, steady):
            AttendanceSignal.objects.update_or_create(
                school=school, enrolment=e, kind=SignalKind.AT_RISK, since=dt.date(2025, 11, 3),
                defaults={"sessions": 1, "active": True})
        Case.objects.create(school=school, enrolment=fast, pupil=fast.pupil, opened_reason="test")
    return fast, slow, steady


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2025, 11, 28, 12, tzinfo=dt.UTC), tick=False)
def test_the_at_risk_list_puts_the_soonest_to_become_persistently_absent_first(world, slipping, client_as):
    fast, slow, steady = slipping
    with scopes_disabled():
        calendar = calendar_for(school=world.school)
    with scope(school=world.school):
        found = {f.enrolment_id: f for f in pupil_forecasts(school=world.school, on=ON, calendar=calendar)}
    assert found[fast.pk].becomes_persistent_on < found[slow.pk].becomes_persistent_on
    assert found[steady.pk].becomes_persistent_on is None and found[steady.pk].projected_attendance == 100.0

    client = client_as(world.users["attendance_officer"])
    response = client.get(reverse("interventions:at_risk", args=[world.school.slug]))
    assert response.status_code == 200
    assert [r.enrolment_id for r in response.context["rows"]] == [fast.pk, slow.pk, steady.pk]
    html = response.content.decode()
    assert f"{found[fast.pk].becomes_persistent_on:%-d %b %Y}" in html
    assert f"{found[fast.pk].projected_attendance:.1f}%" in html
    assert "How are the last two columns worked out?" in html

    # Another list keeps its order by name and shows the same forecast.
    with scopes_disabled():
        AttendanceSignal.objects.filter(school=world.school).update(kind=SignalKind.PERSISTENT_ABSENCE)
    rows = client.get(reverse("interventions:persistent", args=[world.school.slug])).context["rows"]
    assert [r.enrolment_id for r in rows] == [steady.pk, slow.pk, fast.pk]
    assert rows[2].forecast == found[fast.pk]

    with scopes_disabled():
        case = Case.objects.get(school=world.school, enrolment=fast)
    page = client.get(reverse("interventions:case", args=[world.school.slug, case.pk]))
    assert page.context["v"].forecast == found[fast.pk]
    assert f"persistently absent from {found[fast.pk].becomes_persistent_on:%-d %b}" in page.content.decode()
