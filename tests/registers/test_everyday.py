"""Defects found using the registers as each role would (issue 16): closures, correcting before the
register closes, codes a role may enter, names and headings, register order, future marks, the year grid."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from registers.marking import CORRECTED_BEFORE_CLOSE, register_statuses
from registers.models import Mark, MarkEvent
from registers.services import MarkEntry, marks_save
from staff.models import RoleCodes
from tests import factories as f

from .conftest import MONDAY, make_class
from .test_register_page import form, marks, url

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.django_db


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


# --- 1. an unexpected closure is today or a past school day of this year, checked at the first step ---------


@pytest.mark.parametrize(("day", "message"), [
    ("2025-10-08", "has not happened yet"),  # next month
    ("2025-09-13", "not a school session (weekend)"),  # last Saturday, refused before the confirmation step
    ("2024-09-09", "current academic year"),  # last year
])
def test_closure_refuses_future_weekend_and_last_year_at_the_first_step(klass, client_as, day, message):
    with time_machine.travel(at(dt.date(2025, 9, 16), 11), tick=False):
        response = client_as(klass.office).post(reverse("registers:closure", args=[klass.school.slug]),
                                                {"date": day, "session": "AM", "reason": "Boiler failure"})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'name="confirm"' not in html  # refused before the confirmation step
    assert marks(klass) == {}


@pytest.mark.parametrize("day", ["2026-09-07", "2026-07-20"])
def test_closure_in_the_september_gap_asks_for_the_new_year_first(klass, client_as, day):
    """Before 2026/27 is set up, 2025/26 is not the current year: neither today nor a July school day of
    2025/26 can be closed, and the office is told to set the year up."""
    with time_machine.travel(at(dt.date(2026, 9, 7), 11), tick=False):
        response = client_as(klass.office).post(reverse("registers:closure", args=[klass.school.slug]),
                                                {"date": day, "session": "AM", "reason": "Boiler failure"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "no academic year containing 07 September 2026" in html
    assert "Set up the academic year" in html
    assert 'name="confirm"' not in html
    assert marks(klass) == {}


def test_closure_for_today_reaches_the_confirmation(klass, client_as):
    with time_machine.travel(at(dt.date(2025, 9, 10), 11), tick=False):
        response = client_as(klass.office).post(reverse("registers:closure", args=[klass.school.slug]),
                                                {"date": "2025-09-10", "session": "PM", "reason": "Boiler failure"})
    assert response.status_code == 200
    assert "<strong>5</strong> pupils" in response.content.decode()


# --- 3. the person who took a register may correct it until it closes; the page says the rule ----------


def test_teacher_corrects_own_marks_until_the_register_closes(klass, client_as):
    teacher = client_as(klass.teacher)
    pupil = klass.pupils[0]
    with time_machine.travel(at(MONDAY, 8, 50), tick=False):
        assert teacher.post(url(klass), form(klass.pupils)).status_code == 302
        page = teacher.get(url(klass)).content.decode()
        assert "you can correct marks you saved yourself" in page
        assert f'id="code_{pupil.pk}" name="code_{pupil.pk}" class="code" disabled' not in page
        change = form(klass.pupils, versions={p.pk: 1 for p in klass.pupils})
        change[f"code_{pupil.pk}"] = "N"
        response = teacher.post(url(klass), change)
        assert response.status_code == 302, response.content.decode()[:400]
    assert marks(klass)[pupil.pk].code == "N"
    with scope(school=klass.school):
        event = MarkEvent.objects.filter(school=klass.school, pupil_id=pupil.pk).latest("pgh_id")
    assert event.pgh_label == "amended" and event.pgh_context["reason"] == CORRECTED_BEFORE_CLOSE
    # After the close time the same change is an amendment for the office, and the page says so.
    with time_machine.travel(at(MONDAY, 9, 5), tick=False):
        page = teacher.get(url(klass)).content.decode()
        assert "This register closed at 09:00" in page and "ask the office to amend them" in page
        assert "Reason for changing saved marks" not in page  # a teacher is never asked for a reason they cannot use
        again = form(klass.pupils, versions={p.pk: 1 for p in klass.pupils[1:]} | {pupil.pk: 2})
        again[f"code_{pupil.pk}"] = "/"
        refused = teacher.post(url(klass), again)
    assert refused.status_code == 400
    assert "cannot change a saved mark" in refused.content.decode()
    assert marks(klass)[pupil.pk].code == "N"


def test_teacher_cannot_correct_someone_elses_mark_while_open(klass, client_as):
    with time_machine.travel(at(MONDAY, 8, 50), tick=False):
        client_as(klass.office).post(url(klass), form(klass.pupils[:1]))
        change = form(klass.pupils[:1], code="N", versions={klass.pupils[0].pk: 1})
        response = client_as(klass.teacher).post(url(klass), change)
    assert response.status_code == 400
    assert marks(klass)[klass.pupils[0].pk].code == "/"


# --- 4. codes a role may enter (school configuration), codes that fit the session, minutes for L and U -----


def test_teacher_enters_present_late_and_N_only_by_default(klass, client_as):
    teacher = client_as(klass.teacher)
    page = teacher.get(url(klass)).content.decode()
    assert 'value="N"' in page and 'value="L"' in page and 'value="/"' in page
    assert 'value="C1"' not in page and 'value="M"' not in page and 'value="\\"' not in page
    for code in ("C1", "M"):
        data = form(klass.pupils)
        data[f"code_{klass.pupils[0].pk}"] = code
        response = teacher.post(url(klass), data)
        assert response.status_code == 400
        assert f"Your role does not enter &#x27;{code}&#x27;" in response.content.decode()
    assert marks(klass) == {}


def test_api_applies_the_same_codes_and_minutes_rules(klass):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(klass.teacher)
    api_url = reverse("api:register-detail", kwargs={"school_slug": klass.school.slug, "group_id": klass.group.pk,
                                                     "date": MONDAY, "session": "AM"})
    for row, message in (({"code": "C1"}, "Your role does not enter 'C1'"),
                         ({"code": "L"}, "Give the minutes late with L.")):
        response = client.post(api_url, {"marks": [{"pupil": klass.pupils[0].pk, **row}]}, format="json")
        assert response.status_code == 400 and message in str(response.json())
    assert marks(klass) == {}


def test_school_configures_the_codes_teachers_enter(klass, client_as):
    with scopes_disabled():
        RoleCodes.objects.create(school=klass.school, role="class_teacher", codes=["/", "\\", "L", "N", "M"])
    data = form(klass.pupils)
    data[f"code_{klass.pupils[0].pk}"] = "M"
    assert client_as(klass.teacher).post(url(klass), data).status_code == 302
    assert marks(klass)[klass.pupils[0].pk].code == "M"


def test_office_enters_any_code(klass, client_as):
    data = form(klass.pupils)
    data[f"code_{klass.pupils[0].pk}"] = "M"
    assert client_as(klass.office).post(url(klass), data).status_code == 302


def test_morning_present_code_refused_in_the_afternoon(klass, client_as):
    response = client_as(klass.office).post(url(klass, session="PM"), form(klass.pupils, code="/"))
    assert response.status_code == 400
    assert "not the present code for the PM session" in response.content.decode()
    assert marks(klass) == {}
    with scope(school=klass.school), pytest.raises(Exception, match="afternoon present code"):
        marks_save(school=klass.school, by=klass.office, entries=[MarkEntry(klass.pupils[0].pk, MONDAY, "AM", "\\")])


def test_late_needs_minutes_on_the_register(klass, client_as):
    data = form(klass.pupils)
    data[f"code_{klass.pupils[0].pk}"] = "L"
    response = client_as(klass.teacher).post(url(klass), data)
    assert response.status_code == 400
    assert "Give the minutes late with L" in response.content.decode()
    assert marks(klass) == {}


@pytest.mark.parametrize(("session", "code", "minutes", "message"), [
    ("PM", "/", "", "Choose a code that is valid on this date."),  # "/" is not offered for the afternoon
    ("AM", "L", "", "Give the minutes late with L."),
    ("AM", "U", "", "Give the minutes late with U."),
])
def test_amendment_validates_code_against_session_and_minutes(klass, client_as, session, code, minutes, message):
    pupil = klass.pupils[0]
    with scope(school=klass.school):
        marks_save(school=klass.school, by=klass.office,
                   entries=[MarkEntry(pupil.pk, MONDAY, session, "N")])
    amend = reverse("registers:amend", args=[klass.school.slug, pupil.pk, MONDAY.isoformat(), session])
    response = client_as(klass.office).post(amend, {"code": code, "minutes_late": minutes, "note": "",
                                                    "reason": "Seen on CCTV", "version": "1"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert marks(klass)[pupil.pk].code == "N"


# --- 7. names and headings ------------------------------------------------------------------------


def test_last_marked_by_for_marks_without_a_person_is_not_none_none(klass):
    with scope(school=klass.school):
        marks_save(school=klass.school, by=None, entries=[MarkEntry(klass.pupils[0].pk, MONDAY, "AM", "/")])
        rows = {s.session: s for s in register_statuses(school=klass.school, day=MONDAY)}
    assert "None" not in rows["AM"].last_marked_by
    assert rows["AM"].last_marked_by == "import or system"


def test_history_does_not_say_amended_amendment_and_headings_do_not_repeat_the_year(world, client_as):
    _group, pupils = make_class(world.school, 1, name="Year 5")
    pupil = pupils[0]
    office = client_as(world.users["office_staff"])
    with scope(school=world.school):
        marks_save(school=world.school, by=None, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")])
    office.post(reverse("registers:amend", args=[world.school.slug, pupil.pk, MONDAY.isoformat(), "AM"]),
                {"code": "I", "reason": "Phoned", "version": "1", "note": "", "minutes_late": ""})
    page = office.get(reverse("registers:pupil_history", args=[world.school.slug, pupil.pk])).content.decode()
    assert "Amended" in page and ">amendment<" not in page
    assert "Year 5 · Year 5" not in page
    absence_page = office.get(reverse("absence:pupil", args=[world.school.slug, pupil.pk])).content.decode()
    assert "Year 5 · Year 5" not in absence_page


# --- 13. Reception comes before Year 1 --------------------------------------------------------------


def test_reception_is_listed_before_year_one(world, client_as):
    from tests.conftest import add_calendar

    with scopes_disabled():
        add_calendar(world.school)
        f.RegistrationGroupFactory(school=world.school, name="1A", year_group="1")
        f.RegistrationGroupFactory(school=world.school, name="RB", year_group="R")
        f.RegistrationGroupFactory(school=world.school, name="10C", year_group="10")
        f.RegistrationGroupFactory(school=world.school, name="2D", year_group="2")
        rows = register_statuses(school=world.school, day=MONDAY)
    names = list(dict.fromkeys(s.group.name for s in rows))
    assert names == ["RB", "1A", "2D", "10C"]


# --- 14. one rule for future marks: known absences ahead, shown as pre-filled; attendance on the day ---------


def test_future_register_offers_only_known_absences_and_shows_prefilled_marks(klass, client_as):
    office = client_as(klass.office)
    with time_machine.travel(at(dt.date(2025, 9, 5), 10), tick=False):  # the Friday before
        page = office.get(url(klass)).content.decode()
        assert "has not come yet" in page
        assert 'value="/"' not in page and 'name="fill"' not in page
        assert 'value="I"' in page
        data = form(klass.pupils, code="")
        data[f"code_{klass.pupils[0].pk}"] = "I"
        assert office.post(url(klass), data).status_code == 302
    with scope(school=klass.school):  # the database stamps its own clock: date the entry last Friday
        Mark.objects.filter(school=klass.school).update(recorded_at=at(dt.date(2025, 9, 5), 10))
    with time_machine.travel(at(MONDAY, 8, 50), tick=False):
        page = client_as(klass.teacher).get(url(klass)).content.decode()
    assert "Pre-filled" in page
    assert 'name="fill"' in page


# --- 16. the year as a calendar grid, with the amendments below ---------------------------------------------


def test_history_shows_the_year_as_a_grid_and_lists_only_amendments(klass, client_as):
    pupil = klass.pupils[0]
    with scope(school=klass.school):
        marks_save(school=klass.school, by=klass.teacher, entries=[
            MarkEntry(pupil.pk, MONDAY, "AM", "/"), MarkEntry(pupil.pk, MONDAY, "PM", "N"),
            MarkEntry(pupil.pk, MONDAY + dt.timedelta(days=1), "AM", "/")])
        marks_save(school=klass.school, by=klass.office, reason="Phoned",
                   entries=[MarkEntry(pupil.pk, MONDAY, "PM", "I", expected_version=1)])
    page = client_as(klass.office).get(reverse("registers:pupil_history", args=[klass.school.slug, pupil.pk]))
    html = page.content.decode()
    assert 'class="year-grid"' in html
    assert html.count("<tr><th scope=\"row\">") == 12  # September to August
    assert 'title="Mon 8 Sep: AM /, PM I"' in html
    assert 'class="pm cat-authorised_other">I<' in html
    assert html.count('<span class="badge warn">Amended</span>') == 1
    assert "Recorded</span>" not in html


# --- a school day: daily pages open on the last school day and step over weekends ---------------------------


def test_daily_pages_on_a_weekend_open_on_the_last_school_day(klass, client_as):
    saturday = dt.date(2025, 9, 13)
    with time_machine.travel(at(saturday, 10), tick=False):
        index = client_as(klass.teacher).get(reverse("registers:index", args=[klass.school.slug])).content.decode()
        board = client_as(klass.office).get(reverse("registers:board", args=[klass.school.slug])).content.decode()
        today = client_as(klass.office).get(reverse("absence:today", args=[klass.school.slug])).content.decode()
    for page in (index, board, today):
        assert "Today (Saturday 13 September) is not a school day, so this shows Friday 12 September" in page
    assert "Registers · Friday 12 September 2025" in index
    # Friday's neighbours are Thursday and Monday, not the weekend.
    assert '?date=2025-09-11">← Thu 11 Sep' in index and '?date=2025-09-15">Mon 15 Sep →' in index


def test_navigation_skips_the_inset_day(klass, client_as):
    page = client_as(klass.teacher).get(reverse("registers:index", args=[klass.school.slug]) + "?date=2025-11-13")
    assert '?date=2025-11-17">Mon 17 Nov →' in page.content.decode()  # Friday 14th is an INSET day
