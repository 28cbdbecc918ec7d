"""Late arrivals at reception: L before close, U after, minutes from the open time, UK time on DST days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from registers.marking import LateArrivalError, late_arrival_record
from registers.models import Mark, MarkEvent, Term
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import MONDAY

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def pupil(klass):
    return klass.pupils[0]


def record(klass, pupil, when):
    with scope(school=klass.school):
        return late_arrival_record(school=klass.school, pupil=pupil, arrived=when, by=klass.office, may_amend=True)


def saved(klass, pupil, day=MONDAY):
    with scope(school=klass.school):
        return {m.session: m for m in Mark.objects.filter(school=klass.school, pupil=pupil, date=day)}


@pytest.mark.parametrize(("local", "session", "code", "minutes"), [
    (dt.time(8, 50), "AM", "L", 5),
    (dt.time(9, 0), "AM", "L", 15),  # at the close time is still before it closed
    (dt.time(9, 1), "AM", "U", 16),
    (dt.time(11, 30), "AM", "U", 165),
    (dt.time(13, 15), "PM", "L", 0),
    (dt.time(13, 29), "PM", "L", 14),
    (dt.time(13, 45), "PM", "U", 30),
])
def test_code_session_and_minutes_from_open(klass, pupil, local, session, code, minutes):
    done = record(klass, pupil, dt.datetime.combine(MONDAY, local, tzinfo=LONDON))
    assert (done.session, done.code, done.minutes_late) == (session, code, minutes)
    mark = saved(klass, pupil)[session]
    assert (mark.code, mark.minutes_late) == (code, minutes)


def test_arriving_before_the_register_opens_is_not_late(klass, pupil):
    with pytest.raises(LateArrivalError, match="before the register opened at 08:45"):
        record(klass, pupil, dt.datetime.combine(MONDAY, dt.time(8, 30), tzinfo=LONDON))
    assert saved(klass, pupil) == {}


def test_late_arrival_amends_an_n_with_a_reason(klass, pupil):
    with scope(school=klass.school):
        marks_save(school=klass.school, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")], by=klass.teacher)
    record(klass, pupil, dt.datetime.combine(MONDAY, dt.time(9, 7), tzinfo=LONDON))
    assert saved(klass, pupil)["AM"].code == "U"
    with scope(school=klass.school):
        event = MarkEvent.objects.filter(school=klass.school, pupil=pupil).latest("pgh_id")
    assert event.pgh_context["reason"] == "Signed in late at reception at 09:07"


def test_already_present_is_refused(klass, pupil):
    with scope(school=klass.school):
        marks_save(school=klass.school, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "/")], by=klass.teacher)
    with pytest.raises(LateArrivalError, match="already marked present"):
        record(klass, pupil, dt.datetime.combine(MONDAY, dt.time(9, 7), tzinfo=LONDON))
    assert saved(klass, pupil)["AM"].code == "/"


def test_not_a_school_day_is_refused(klass, pupil):
    saturday = MONDAY + dt.timedelta(days=5)
    with pytest.raises(LateArrivalError, match="not a school session"):
        record(klass, pupil, dt.datetime.combine(saturday, dt.time(9, 7), tzinfo=LONDON))


def _term_around(school, day):
    with scopes_disabled():
        year = f.AcademicYearFactory(school=school, name="x", start=day - dt.timedelta(days=1), end=day)
        Term.objects.create(school=school, academic_year=year, name="Extra", season="spring",
                            start=day, end=day + dt.timedelta(days=4))


@pytest.mark.parametrize(("day", "utc_time", "code", "minutes"), [
    # Monday after the clocks went forward: 08:07 UTC is 09:07 BST, after the 09:00 close.
    (dt.date(2026, 3, 30), dt.time(8, 7), "U", 22),
    (dt.date(2026, 3, 30), dt.time(7, 55), "L", 10),
    # Monday after the clocks went back: 09:07 UTC is 09:07 GMT.
    (dt.date(2025, 10, 27), dt.time(9, 7), "U", 22),
    (dt.date(2025, 10, 27), dt.time(8, 55), "L", 10),
])
def test_dst_change_days_use_uk_time(klass, client_as, pupil, day, utc_time, code, minutes):
    _term_around(klass.school, day)
    with time_machine.travel(dt.datetime.combine(day, utc_time, tzinfo=UTC), tick=False):
        client = client_as(klass.office)
        page = client.get(reverse("registers:late", args=[klass.school.slug]), {"q": pupil.surname})
        local = dt.datetime.combine(day, utc_time, tzinfo=UTC).astimezone(LONDON)
        assert f'value="{local:%H:%M}"' in page.content.decode()  # the default arrival time is UK time
        assert f'value="{day.isoformat()}"' in page.content.decode()
        response = client.post(reverse("registers:late", args=[klass.school.slug]), {
            "pupil": pupil.pk, "date": day.isoformat(), "time": f"{local:%H:%M}"})
        assert response.status_code == 302
    mark = saved(klass, pupil, day)["AM"]
    assert (mark.code, mark.minutes_late) == (code, minutes)


def test_page_search_and_sign_in(klass, client_as, pupil):
    client = client_as(klass.office)
    target = reverse("registers:late", args=[klass.school.slug])
    page = client.get(target, {"q": pupil.forename})
    html = page.content.decode()
    assert f'value="{pupil.pk}"' in html
    assert "counted from the time the register <strong>opens</strong>" in html
    assert f'value="{klass.pupils[1].pk}"' not in html
    response = client.post(target, {"pupil": pupil.pk, "date": MONDAY.isoformat(), "time": "09:07"}, follow=True)
    assert "U for the AM register, 22 minutes late" in response.content.decode()


@pytest.mark.parametrize(("data", "message"), [
    ({"date": "2025-09-08", "time": "09:07"}, "Choose the pupil who has arrived."),
    ({"pupil": "999999", "date": "2025-09-08", "time": "09:07"}, "Choose a pupil from the list."),
    ({"pupil": "PUPIL", "date": "2025-09-08", "time": "25:99"}, "Give the arrival time as HH:MM"),
    ({"pupil": "PUPIL", "date": "08/09/2025x", "time": "09:07"}, "Give the date as YYYY-MM-DD."),
    ({"pupil": "PUPIL", "date": "2025-09-08", "time": ""}, "Give the arrival time."),
    ({"pupil": "PUPIL", "date": "2025-09-13", "time": "09:07"}, "is not a school session"),
    ({"pupil": "PUPIL", "date": "2025-09-08", "time": "08:00"}, "before the register opened"),
])
def test_bad_input_is_refused_and_nothing_written(klass, client_as, pupil, data, message):
    data = {k: (str(pupil.pk) if v == "PUPIL" else v) for k, v in data.items()}
    response = client_as(klass.office).post(reverse("registers:late", args=[klass.school.slug]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    with scope(school=klass.school):
        assert not Mark.objects.filter(school=klass.school).exists()


def test_another_schools_pupil_is_not_a_choice(klass, client_as, world):
    with scopes_disabled():
        other = f.EnrolmentFactory(pupil__school=world.other).pupil
    response = client_as(klass.office).post(reverse("registers:late", args=[klass.school.slug]),
                                            {"pupil": other.pk, "date": "2025-09-08", "time": "09:07"})
    assert response.status_code == 400
    assert "Choose a pupil from the list." in response.content.decode()
    with scopes_disabled():
        assert not Mark.objects.exists()


def test_teacher_cannot_overwrite_a_saved_mark(klass, pupil):
    with scope(school=klass.school):
        marks_save(school=klass.school, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")], by=klass.teacher)
        with pytest.raises(LateArrivalError, match="cannot change a saved mark"):
            late_arrival_record(school=klass.school, pupil=pupil, by=klass.teacher, may_amend=False,
                                arrived=dt.datetime.combine(MONDAY, dt.time(9, 7), tzinfo=LONDON))
