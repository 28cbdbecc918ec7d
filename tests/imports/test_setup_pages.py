"""School set-up pages: years and terms, planned closures, register times. Bad input: a message, nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from registers.models import AcademicYear, Closure, SessionTimes, Term
from tests import factories as f
from tests.conftest import add_calendar

pytestmark = pytest.mark.django_db

OCT_1 = dt.datetime(2025, 10, 1, 9, 0, tzinfo=dt.UTC)
PAGES = ["registers:setup", "registers:terms", "registers:year_create", "registers:closures",
         "registers:session_times"]


@pytest.fixture
def office(world, client_as):
    return client_as(world.users["office_staff"])


def url(world, name, **kwargs):
    return reverse(name, kwargs={"school_slug": world.school.slug, **kwargs})


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_manage_school(world, client_as, name):
    assert client_as(world.users["office_staff"]).get(url(world, name)).status_code == 200
    assert client_as(world.users["headteacher"]).get(url(world, name)).status_code == 200
    for role in ("class_teacher", "attendance_officer", "governor"):
        assert client_as(world.users[role]).get(url(world, name)).status_code == 403, role


def _count(model, world):
    with scope(school=world.school):
        return model.objects.filter(school=world.school).count()


# --------------------------------------------------------------------------- years and terms


def test_add_an_academic_year_names_it_from_the_dates(world, office):
    response = office.post(url(world, "registers:year_create"), {"name": "", "start": "2026-09-01",
                                                                 "end": "2027-08-31"})
    assert response.status_code == 302
    with scope(school=world.school):
        assert AcademicYear.objects.get(school=world.school).name == "2026/27"


@pytest.mark.parametrize(("data", "message"), [
    ({"start": "2026-09-01", "end": "2026-08-01"}, "The last day must be after the first day."),
    ({"start": "2026-09-01", "end": "2028-08-31"}, "An academic year can be at most one year long."),
    ({"start": "2026-13-01", "end": "2027-08-31"}, "Give the date as YYYY-MM-DD."),
    ({"start": "2025-06-01", "end": "2026-05-31"}, "These dates overlap the academic year 2025/26"),
], ids=["end-first", "too-long", "bad-date", "overlap"])
def test_bad_academic_year(world, office, data, message):
    with scopes_disabled():
        add_calendar(world.school)
    response = office.post(url(world, "registers:year_create"), {"name": "", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _count(AcademicYear, world) == 1


def test_year_cannot_shrink_past_its_terms(world, office):
    with scopes_disabled():
        year = add_calendar(world.school)
    response = office.post(url(world, "registers:year_edit", year_id=year.pk),
                           {"name": "2025/26", "start": "2025-09-01", "end": "2026-06-30"})
    assert response.status_code == 400
    assert "Term &#x27;Summer 2&#x27;" in response.content.decode()
    with scope(school=world.school):
        year.refresh_from_db()
        assert year.end == dt.date(2026, 8, 31)


def test_add_and_change_a_term(world, office):
    with scopes_disabled():
        year = f.AcademicYearFactory(school=world.school)
    response = office.post(url(world, "registers:term_create", year_id=year.pk),
                           {"name": "Spring 1", "start": "2026-01-05", "end": "2026-02-13"})
    assert response.status_code == 302
    with scope(school=world.school):
        term = Term.objects.get(school=world.school)
        assert (term.season, term.academic_year_id) == ("spring", year.pk)
    response = office.post(url(world, "registers:term_edit", term_id=term.pk),
                           {"name": "Spring 1", "start": "2026-01-06", "end": "2026-02-13"})
    assert response.status_code == 302
    with scope(school=world.school):
        term.refresh_from_db()
        assert term.start == dt.date(2026, 1, 6)


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "Autumn 1", "start": "2025-12-01", "end": "2025-12-05"}, "2025/26 already has a term called"),
    ({"name": "Late", "start": "2026-08-20", "end": "2026-09-10"}, "The term must lie inside the academic year"),
    ({"name": "Late", "start": "2025-10-20", "end": "2025-10-31"}, "These dates overlap Autumn 1"),
    ({"name": "Late", "start": "2025-12-20", "end": "2025-12-19"}, "The last day of term cannot be before the first."),
    ({"name": "", "start": "2025-12-20", "end": "2025-12-21"}, "This field is required."),
], ids=["duplicate-name", "outside-year", "overlap", "end-first", "no-name"])
def test_bad_term(world, office, data, message):
    with scopes_disabled():
        year = add_calendar(world.school)
    response = office.post(url(world, "registers:term_create", year_id=year.pk), data)
    assert response.status_code == 400
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert _count(Term, world) == 6


def test_term_cannot_shrink_away_from_recorded_marks(world, office):
    with scopes_disabled():
        add_calendar(world.school)
        f.MarkFactory(enrolment__pupil__school=world.school, date=dt.date(2025, 10, 24))
        term = Term.objects.get(school=world.school, name="Autumn 1")
    response = office.post(url(world, "registers:term_edit", term_id=term.pk),
                           {"name": "Autumn 1", "start": "2025-09-03", "end": "2025-10-23"})
    assert response.status_code == 400
    assert "Marks are already recorded on 24 October 2025" in response.content.decode()
    with scope(school=world.school):
        term.refresh_from_db()
        assert term.end == dt.date(2025, 10, 24)


# --------------------------------------------------------------------------- closures


@time_machine.travel(OCT_1, tick=False)
def test_add_and_remove_a_planned_closure(world, office):
    with scopes_disabled():
        add_calendar(world.school)
    response = office.post(url(world, "registers:closures"),
                           {"date": "2025-12-01", "session": "PM", "reason": "Staff training"})
    assert response.status_code == 302
    page = office.get(url(world, "registers:closures")).content.decode()
    assert "Staff training" in page
    with scope(school=world.school):
        closure = Closure.objects.get(school=world.school, date=dt.date(2025, 12, 1))
    assert closure.session == "PM"
    response = office.post(url(world, "registers:closure_delete", closure_id=closure.pk))
    assert response.status_code == 302
    with scope(school=world.school):
        assert not Closure.objects.filter(pk=closure.pk).exists()


@time_machine.travel(OCT_1, tick=False)
@pytest.mark.parametrize(("data", "message"), [
    ({"date": "2025-09-29", "session": "BOTH", "reason": "INSET"}, "Planned closures are set up before the day."),
    ({"date": "2025-10-01", "session": "BOTH", "reason": "INSET"}, "Planned closures are set up before the day."),
    ({"date": "2025-10-04", "session": "AM", "reason": "INSET"}, "is not a school session already (weekend)"),
    ({"date": "2025-10-28", "session": "BOTH", "reason": "INSET"}, "is not a school session already (outside term"),
    ({"date": "2025-11-14", "session": "PM", "reason": "Again"}, "is not a school session already (INSET day)"),
    ({"date": "2025-12-01", "session": "EVENING", "reason": "INSET"}, "Select a valid choice."),
    ({"date": "2025-12-01", "session": "BOTH", "reason": ""}, "Give the reason for the closure."),
    ({"date": "1 Dec", "session": "BOTH", "reason": "INSET"}, "Give the date as YYYY-MM-DD."),
], ids=["past", "today", "weekend", "holiday", "already-closed", "bad-session", "no-reason", "bad-date"])
def test_bad_closure(world, office, data, message):
    with scopes_disabled():
        add_calendar(world.school)
    response = office.post(url(world, "registers:closures"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _count(Closure, world) == 1


@time_machine.travel(OCT_1, tick=False)
def test_closure_refused_where_marks_already_exist(world, office):
    with scopes_disabled():
        add_calendar(world.school)
        f.MarkFactory(enrolment__pupil__school=world.school, date=dt.date(2025, 12, 1), session="PM", code="M")
    response = office.post(url(world, "registers:closures"), {"date": "2025-12-01", "session": "BOTH",
                                                              "reason": "INSET"})
    assert response.status_code == 400
    assert "Marks are already recorded for Monday 01 December 2025" in response.content.decode()
    assert _count(Closure, world) == 1


@time_machine.travel(OCT_1, tick=False)
def test_a_closure_on_or_after_its_day_is_kept(world, office):
    with scopes_disabled():
        add_calendar(world.school)
        closure = Closure.objects.create(school=world.school, date=dt.date(2025, 10, 1), reason="Boiler")
    response = office.post(url(world, "registers:closure_delete", closure_id=closure.pk), follow=True)
    assert "has started or passed, so it stays in the calendar" in response.content.decode()
    assert _count(Closure, world) == 2
    assert office.get(url(world, "registers:closure_delete", closure_id=closure.pk)).status_code == 405


# --------------------------------------------------------------------------- register times


def _times(rows: dict[str, tuple[str, str, str, str]]) -> dict[str, str]:
    data = {}
    for yg, values in rows.items():
        for field, value in zip(("am_open", "am_close", "pm_open", "pm_close"), values, strict=True):
            data[f"y{yg}-{field}"] = value
    return data


def test_set_register_times_per_year_group(world, office):
    response = office.post(url(world, "registers:session_times"),
                           _times({"R": ("08:40", "08:55", "13:00", "13:15"),
                                   "6": ("08:50", "09:05", "13:20", "13:35")}))
    assert response.status_code == 302
    with scope(school=world.school):
        found = {t.year_group: (t.am_open, t.pm_close) for t in SessionTimes.objects.filter(school=world.school)}
    assert found == {"R": (dt.time(8, 40), dt.time(13, 15)), "6": (dt.time(8, 50), dt.time(13, 35))}
    page = office.get(url(world, "registers:session_times")).content.decode()
    assert 'value="08:40"' in page


@pytest.mark.parametrize(("values", "message"), [
    (("09:00", "08:45", "13:15", "13:30"), "Year 5: Morning register must close after it opens."),
    (("08:45", "09:00", "13:00", "13:45"), "Year 5: Afternoon register may be open for at most 30 minutes."),
    (("08:45", "09:00", "08:50", "09:10"), "Year 5: Afternoon register must open after the morning register closes."),
    (("08:45", "", "13:15", "13:30"), "Year 5: give all four times"),
    (("8.45am", "09:00", "13:15", "13:30"), "Give the time as HH:MM, e.g. 08:45."),
], ids=["close-first", "too-long", "pm-before-am", "partial", "bad-time"])
def test_bad_register_times_save_nothing(world, office, values, message):
    with scopes_disabled():
        f.SessionTimesFactory(school=world.school, year_group="3")
    data = _times({"5": values, "R": ("08:40", "08:55", "13:00", "13:15")})
    response = office.post(url(world, "registers:session_times"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _count(SessionTimes, world) == 1  # the valid Reception row was not saved either


def test_register_times_cannot_be_cleared(world, office):
    with scopes_disabled():
        f.SessionTimesFactory(school=world.school, year_group="5")
    response = office.post(url(world, "registers:session_times"), _times({"5": ("", "", "", "")}))
    assert response.status_code == 400
    assert "Year 5: register times cannot be removed once set" in response.content.decode()
    assert _count(SessionTimes, world) == 1
