"""Does it work? Attendance before and after each kind of action, from the casework apps' action readers and
the summaries, on the governors' page with small groups hidden."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from attendance_portal.roles import Role
from interventions.models import Case, Meeting
from reporting.effect import EFFECT_WEEKS, casework_effects
from reporting.services import calculation_run
from tests import factories as f
from tests.conftest import add_calendar
from tests.reporting.helpers import enrol, record, school_sessions

MEETING = dt.date(2025, 10, 6)  # a Monday
LATE_MEETING = dt.date(2025, 11, 24)  # its four school weeks after have not passed by the 28th
AS_OF = dt.date(2025, 11, 28)
# The four school weeks before the week of 6 October, and the four from it (half term, 27–31 October, is
# no school week, so the fourth is the week of 3 November).
BEFORE = (dt.date(2025, 9, 8), dt.date(2025, 10, 5))
AFTER = (dt.date(2025, 10, 6), dt.date(2025, 11, 9))


def _meeting(school, case: Case, day: dt.date) -> None:
    Meeting.objects.create(school=school, case=case, meeting_type="Attendance meeting",
                           when=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC), place="Room 1",
                           status=Meeting.Status.HELD)


def _school_with_meetings(school, pupils: int) -> tuple[list[tuple[dt.date, str]], list]:
    """`pupils` pupils, each absent every afternoon until the meeting and present after it, but the first,
    absent every session after it too; each has a meeting on 6 October, and the first another on 24 November."""
    with scopes_disabled():
        add_calendar(school)
    sessions = school_sessions(school, dt.date(2025, 9, 3), end=AS_OF)
    cases = []
    with scopes_disabled():
        for n in range(pupils):
            enrolment = enrol(school, forename=f"Ottoline{n}", surname=f"Brackenbury{n}")
            f.PupilContactFactory(pupil=enrolment.pupil, guardian__school=school)
            case = Case.objects.create(school=school, enrolment=enrolment, pupil=enrolment.pupil, opened_reason="test")
            codes = [("O" if s == "PM" else ".") if day < MEETING else ("O" if n == 0 else ".") for day, s in sessions]
            record(enrolment, sessions, codes)
            _meeting(school, case, MEETING)
            cases.append(case)
        _meeting(school, cases[0], LATE_MEETING)
    with scope(school=school):
        calculation_run(school=school)
    return sessions, cases


@pytest.mark.django_db
def test_attendance_before_and_after_a_meeting_is_summed_over_the_windows_of_the_calendar(world):
    pupils = 6
    sessions, _cases = _school_with_meetings(world.school, pupils)
    with scope(school=world.school):
        effects = {e.kind: e for e in casework_effects(school=world.school, start=dt.date(2025, 9, 1), end=AS_OF,
                                                         as_of=AS_OF)}
    meeting = effects["meeting"]
    assert (meeting.actions, meeting.pupils) == (pupils, pupils)  # the late meeting is too recent to count
    before = [s for s in sessions if BEFORE[0] <= s[0] <= BEFORE[1]]
    after = [s for s in sessions if AFTER[0] <= s[0] <= AFTER[1]]
    assert len({d - dt.timedelta(days=d.weekday()) for d, _ in after}) == EFFECT_WEEKS
    pm_before = sum(1 for _, s in before if s == "PM")
    assert (meeting.poss_before, meeting.absent_before) == (pupils * len(before), pupils * pm_before)
    assert (meeting.poss_after, meeting.absent_after) == (pupils * len(after), len(after))
    assert meeting.before == round(100 * (1 - pm_before / len(before)), 2)
    assert meeting.after == round(100 * (pupils - 1) / pupils, 2)


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2025, 11, 28, 12, tzinfo=dt.UTC), tick=False)
def test_governors_see_before_and_after_with_small_groups_hidden_and_no_pupil(world, client_as):
    _sessions, cases = _school_with_meetings(world.school, 6)
    client = client_as(world.users[Role.GOVERNOR.value])
    url = reverse("governors:dashboard", args=[world.school.slug]) + "?period=year_to_date"
    response = client.get(url)
    assert response.status_code == 200
    table = next(t for t in response.context["casework"] if t.key == "casework_effect")
    row = {r.label: r for r in table.rows}["Meetings held"]
    assert [str(c) for c in row.cells[:2]] == ["6", "6"]
    assert not row.cells[2].hidden and row.cells[3].number > row.cells[2].number
    html = response.content.decode()
    assert "Attendance before and after" in html and "is not proof" in html
    with scopes_disabled():
        names = [x for c in cases for x in (c.pupil.forename, c.pupil.surname, c.pupil.upn)]
    assert not [n for n in names if n in html]
    csv_text = client.get(reverse("governors:csv", args=[world.school.slug]) + "?table=casework_effect").content
    assert b"Meetings held,6,6," in csv_text

    with scopes_disabled():  # below the threshold of 5 pupils: no figures at all
        Meeting.objects.filter(school=world.school, case__in=cases[:3]).delete()
    table = next(t for t in client.get(url).context["casework"] if t.key == "casework_effect")
    row = {r.label: r for r in table.rows}["Meetings held"]
    assert all(c.hidden for c in row.cells)
