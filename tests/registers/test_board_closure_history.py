"""The registers of a day, the office board, unexpected closures, single amendments and the history page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from registers.marking import register_statuses
from registers.models import Mark, MarkEvent
from registers.services import MarkEntry, marks_save

from .conftest import MONDAY, make_class

LONDON = ZoneInfo("Europe/London")


def save(k, pupils, code=None, session="AM", by=None, **kw):
    code = code or ("/" if session == "AM" else "\\")
    with scope(school=k.school):
        return marks_save(school=k.school, by=by or k.teacher,
                          entries=[MarkEntry(p.pk, MONDAY, session, code, **kw) for p in pupils])


# --- statuses, the index and the board --------------------------------------------------------


def test_statuses_and_who_marked(klass):
    save(klass, klass.pupils[:2], by=klass.teacher)
    save(klass, klass.pupils, session="PM", by=klass.office)
    with scope(school=klass.school):
        at_0855 = dt.datetime.combine(MONDAY, dt.time(8, 55), tzinfo=LONDON)
        rows = {s.session: s for s in register_statuses(school=klass.school, day=MONDAY, now=at_0855)}
    assert (rows["AM"].state, rows["AM"].marked, rows["AM"].enrolled) == ("in_progress", 2, 5)
    assert rows["AM"].last_marked_by == klass.teacher.display_name()
    assert rows["AM"].overdue is True  # opened 08:45, still incomplete at 08:55
    assert (rows["PM"].state, rows["PM"].overdue) == ("complete", False)
    assert rows["PM"].last_marked_by == klass.office.display_name()


def test_overdue_only_five_minutes_after_opening(klass):
    with scope(school=klass.school):
        at = {t: {s.session: s.overdue for s in register_statuses(
            school=klass.school, day=MONDAY, now=dt.datetime.combine(MONDAY, t, tzinfo=LONDON))}
            for t in (dt.time(8, 49), dt.time(8, 50), dt.time(13, 21))}
    assert at[dt.time(8, 49)] == {"AM": False, "PM": False}
    assert at[dt.time(8, 50)] == {"AM": True, "PM": False}
    assert at[dt.time(13, 21)] == {"AM": True, "PM": True}


def test_closed_days_show_no_session(klass):
    with scope(school=klass.school):
        rows = register_statuses(school=klass.school, day=dt.date(2025, 11, 14))
    assert {r.state for r in rows} == {"closed"}
    assert not any(r.overdue for r in rows)


def test_index_lists_groups_with_links(klass, client_as):
    save(klass, klass.pupils[:2])
    page = client_as(klass.teacher).get(reverse("registers:index", args=[klass.school.slug]), {"date": "2025-09-08"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "In progress" in html
    assert "2 / 5" in html
    assert reverse("registers:register", args=[klass.school.slug, klass.group.pk, "2025-09-08", "PM"]) in html


def test_index_bad_date_falls_back_to_today_with_a_message(klass, client_as):
    page = client_as(klass.teacher).get(reverse("registers:index", args=[klass.school.slug]), {"date": "31/02"})
    assert "is not a date; showing today instead" in page.content.decode()


def test_board_highlights_overdue_and_polls(klass, client_as):
    save(klass, klass.pupils[:2])
    target = reverse("registers:board", args=[klass.school.slug])
    with time_machine.travel(dt.datetime(2025, 9, 8, 8, 1, tzinfo=dt.UTC), tick=False):  # 09:01 BST
        page = client_as(klass.office).get(target)
        html = page.content.decode()
        assert 'hx-trigger="every 45s"' in html
        assert 'http-equiv="refresh"' in html
        assert "Overdue" in html
        assert "2</strong> register" in html
        fragment = client_as(klass.office).get(target, HTTP_HX_REQUEST="true").content.decode()
        assert fragment.lstrip().startswith('<div id="board"')
        assert "<html" not in fragment


def test_board_is_for_office_roles(klass, client_as, world):
    target = reverse("registers:board", args=[klass.school.slug])
    assert client_as(world.users["class_teacher"]).get(target).status_code == 403
    assert client_as(world.users["attendance_officer"]).get(target).status_code == 200


def test_board_query_count_does_not_grow_with_groups(world, client_as):
    make_class(world.school, 3, name="5A")
    client = client_as(world.users["office_staff"])
    target = reverse("registers:board", args=[world.school.slug])
    with CaptureQueriesContext(connection) as few:
        client.get(target, {"date": "2025-09-08"})
    for i in range(5):
        make_class(world.school, 8, name=f"6{i}", calendar=False)
    with CaptureQueriesContext(connection) as many:
        client.get(target, {"date": "2025-09-08"})
    assert len(few.captured_queries) == len(many.captured_queries)
    # polled all morning: the day's marks in one pass, the school days either side in one read, no BEGIN/COMMIT
    assert len(many.captured_queries) <= 13, [q["sql"][:80] for q in many.captured_queries]


def test_home_panel_and_nav_link_to_registers(klass, client_as, world):
    html = client_as(klass.office).get(reverse("school_home", args=[klass.school.slug])).content.decode()
    assert reverse("registers:index", args=[klass.school.slug]) in html
    assert reverse("registers:board", args=[klass.school.slug]) in html
    teacher = client_as(klass.teacher).get(reverse("school_home", args=[klass.school.slug])).content.decode()
    assert reverse("registers:board", args=[klass.school.slug]) not in teacher
    governor = client_as(world.users["governor"]).get(reverse("school_home", args=[klass.school.slug]))
    assert reverse("registers:index", args=[klass.school.slug]) not in governor.content.decode()


# --- unexpected closure -----------------------------------------------------------------------


def closure_url(k):
    return reverse("registers:closure", args=[k.school.slug])


@pytest.fixture
def in_2025_26():
    """An unexpected closure is recorded in the current academic year: these tests run on a day of 2025/26."""
    with time_machine.travel(dt.datetime(2025, 9, 16, 11, tzinfo=LONDON), tick=False):
        yield


@pytest.mark.usefixtures("in_2025_26")
def test_closure_confirms_then_marks_everyone_y4(klass, client_as):
    save(klass, klass.pupils[:2], session="PM")
    client = client_as(klass.office)
    data = {"date": "2025-09-08", "session": "PM", "reason": "Boiler failure, site closed at 12:30"}
    confirm = client.post(closure_url(klass), data)
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "<strong>5</strong> pupils" in html
    assert "<strong>2</strong> of them" in html
    with scope(school=klass.school):
        assert not Mark.objects.filter(school=klass.school, code="Y4").exists()  # nothing yet
    done = client.post(closure_url(klass), {**data, "confirm": "yes"}, follow=True)
    assert "3 pupils marked Y4, 2 marks amended" in done.content.decode()
    with scope(school=klass.school):
        assert set(Mark.objects.filter(school=klass.school, session="PM").values_list("code", flat=True)) == {"Y4"}
        amended = MarkEvent.objects.filter(school=klass.school, pgh_label="amended")
        assert {e.pgh_context["reason"] for e in amended} == {"Boiler failure, site closed at 12:30"}


@pytest.mark.parametrize(("data", "message"), [
    ({"session": "AM", "reason": "flood"}, "Give the date of the closure."),
    ({"date": "2025-13-01", "session": "AM", "reason": "flood"}, "Give the date as YYYY-MM-DD."),
    ({"date": "2025-09-08", "reason": "flood"}, "Choose the session that is closed."),
    ({"date": "2025-09-08", "session": "XX", "reason": "flood"}, "Choose AM or PM."),
    ({"date": "2025-09-08", "session": "AM", "reason": ""}, "Give the reason for the closure."),
    ({"date": "2025-09-08", "session": "AM", "reason": "x" * 201}, "Keep the reason under 200 characters."),
    ({"date": "2025-09-13", "session": "AM", "reason": "flood", "confirm": "yes"}, "not a school session"),
    ({"date": "2024-03-04", "session": "AM", "reason": "flood", "confirm": "yes"}, "Y4 cannot be used before"),
])
@pytest.mark.usefixtures("in_2025_26")
def test_closure_bad_input(klass, client_as, data, message):
    response = client_as(klass.office).post(closure_url(klass), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    with scope(school=klass.school):
        assert not Mark.objects.filter(school=klass.school).exists()


def test_closure_needs_manage_school(klass, client_as, world):
    assert client_as(world.users["class_teacher"]).get(closure_url(klass)).status_code == 403
    assert client_as(world.users["attendance_officer"]).post(
        closure_url(klass), {"date": "2025-09-08", "session": "AM", "reason": "x", "confirm": "yes"}).status_code == 403


# --- amend one mark and the history page ------------------------------------------------------


def amend_url(k, pupil, next_=""):
    return reverse("registers:amend", args=[k.school.slug, pupil.pk, "2025-09-08", "AM"]) + next_


def test_amend_with_reason_shows_in_history(klass, client_as):
    pupil = klass.pupils[0]
    save(klass, [pupil], code="N")
    client = client_as(klass.office)
    page = client.get(amend_url(klass, pupil))
    assert page.status_code == 200
    assert 'name="version" value="1"' in page.content.decode()
    response = client.post(amend_url(klass, pupil), {"code": "M", "reason": "Dentist letter seen", "version": "1",
                                                     "note": "", "minutes_late": ""}, follow=True)
    html = response.content.decode()
    assert "saved as M" in html
    assert "Dentist letter seen" in html
    assert klass.office.position in html
    assert "Amended" in html
    history = client.get(reverse("registers:pupil_history", args=[klass.school.slug, pupil.pk])).content.decode()
    assert "<td>N</td>" in history
    assert "<strong>M</strong>" in history


@pytest.mark.parametrize(("data", "message"), [
    ({"code": "M", "reason": "", "version": "1"}, "Give the reason for changing this mark."),
    ({"code": "ZZ", "reason": "x", "version": "1"}, "Choose a code that is valid on this date."),
    ({"code": "", "reason": "x", "version": "1"}, "Choose a code."),
    ({"code": "M", "reason": "x", "version": "1", "minutes_late": "4"}, "Minutes late can only be given with L or U."),
    ({"code": "L", "reason": "x", "version": "1", "minutes_late": "many"}, "Minutes late must be a whole number."),
    ({"code": "L", "reason": "x", "version": "1", "minutes_late": "-1"}, "Minutes late cannot be negative."),
    ({"code": "M", "reason": "x" * 201, "version": "1"}, "Keep the reason under 200 characters."),
])
def test_amend_bad_input(klass, client_as, data, message):
    pupil = klass.pupils[0]
    save(klass, [pupil], code="N")
    response = client_as(klass.office).post(amend_url(klass, pupil), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    with scope(school=klass.school):
        assert Mark.objects.get(school=klass.school, pupil=pupil).code == "N"


def test_amend_stale_version_is_a_conflict_with_the_current_value(klass, client_as):
    pupil = klass.pupils[0]
    save(klass, [pupil], code="N")
    with scope(school=klass.school):
        marks_save(school=klass.school, by=klass.office, reason="phoned",
                   entries=[MarkEntry(pupil.pk, MONDAY, "AM", "I", expected_version=1)])
    response = client_as(klass.head).post(amend_url(klass, pupil), {"code": "M", "reason": "x", "version": "1"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "it is now I" in html
    assert 'name="version" value="2"' in html
    with scope(school=klass.school):
        assert Mark.objects.get(school=klass.school, pupil=pupil).code == "I"


def test_amend_needs_permission_and_next_stays_inside_the_school(klass, client_as):
    pupil = klass.pupils[0]
    save(klass, [pupil], code="N")
    assert client_as(klass.teacher).get(amend_url(klass, pupil)).status_code == 403
    evil = client_as(klass.office).post(amend_url(klass, pupil), {
        "code": "I", "reason": "x", "version": "1", "next": "https://evil.example/"})
    assert evil.status_code == 302
    assert evil["Location"].startswith(f"/s/{klass.school.slug}/")


def test_history_lists_original_new_reason_name_position(klass, client_as):
    pupil = klass.pupils[0]
    save(klass, [pupil], code="N")
    with scope(school=klass.school):
        marks_save(school=klass.school, by=klass.office, reason="Mother phoned: flu",
                   entries=[MarkEntry(pupil.pk, MONDAY, "AM", "I", expected_version=1)])
    page = client_as(klass.teacher).get(reverse("registers:pupil_history", args=[klass.school.slug, pupil.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Mother phoned: flu" in html
    assert klass.office.display_name() in html
    assert klass.office.position in html
    assert "<td>N</td>" in html and "<strong>I</strong>" in html  # the amendment with its original
    assert "Amend</a>" not in html  # teachers cannot amend


def test_history_is_not_for_governors(klass, client_as, world):
    url = reverse("registers:pupil_history", args=[klass.school.slug, klass.pupils[0].pk])
    assert client_as(world.users["governor"]).get(url).status_code == 403


def test_board_on_a_weekend_says_so_once_and_points_to_the_next_school_day(world, client_as):
    from django.urls import reverse
    from django_scopes import scopes_disabled

    from tests import factories as f
    from tests.conftest import add_calendar

    with scopes_disabled():
        add_calendar(world.school)
        f.RegistrationGroupFactory(school=world.school, name="Weekend test group")
    url = reverse("registers:board", args=[world.school.slug])
    body = client_as(world.users["office_staff"]).get(url, {"date": "2025-09-06"}).content.decode()
    assert "No registers on Saturday 6 September: weekend." in body
    assert "Monday 8 September" in body
    assert "Weekend test group" not in body
