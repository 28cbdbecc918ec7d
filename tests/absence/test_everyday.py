"""Defects found using absence follow-up and the parent portal as each role would (issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope

from absence.models import AbsenceReport, ContactAttempt, LeaveRequest
from absence.services import reference_new
from registers.models import Mark
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import MONDAY, at
from .test_parent_portal import _report

pytestmark = pytest.mark.django_db


# --- 2. a blank first-day call is refused, not logged as a call that reached someone ---------------------


@pytest.mark.parametrize(("missing", "message"), [
    ("method", "Choose how you made contact."),
    ("outcome", "Choose the outcome of the contact."),
    ("contact", "Choose who you tried to reach."),
])
def test_blank_contact_attempt_is_refused(world, calendar, client_as, missing, message):
    contact = f.PupilContactFactory(pupil__school=world.school)
    pupil = contact.pupil
    f.EnrolmentFactory(pupil=pupil)
    data = {"contact": contact.pk, "method": "call", "outcome": "reason_given", "note": ""}
    data[missing] = ""
    office = client_as(world.users["office_staff"])
    response = office.post(reverse("absence:contact_add", args=[world.school.slug, pupil.pk]), data, follow=True)
    assert message in response.content.decode()
    with scope(school=world.school):
        assert not ContactAttempt.objects.exists()


def test_contact_form_preselects_nothing(world, calendar, client_as):
    contact = f.PupilContactFactory(pupil__school=world.school)
    page = client_as(world.users["office_staff"]).get(
        reverse("absence:pupil", args=[world.school.slug, contact.pupil.pk])).content.decode()
    assert '<option value="" selected>Choose how</option>' in page
    assert '<option value="" selected>Choose the outcome</option>' in page


# --- 5. a second report for the same child and day: say so, and offer to update it -------------------------


def test_duplicate_report_is_refused_with_an_offer_to_update(fam, client_as, monday_morning):
    pupil, _, user = fam
    client = client_as(user)
    assert _report(client, pupil).status_code == 302
    second = _report(client, pupil, category="appointment", message="Dentist after all")
    html = second.content.decode()
    assert second.status_code == 200
    with scope(school=pupil.school):
        first = AbsenceReport.objects.get()
    assert "You have already reported" in html and first.reference in html
    assert f'name="update" value="{first.pk}"' in html
    updated = _report(client, pupil, category="appointment", message="Dentist after all", update=str(first.pk))
    assert updated.status_code == 302
    with scope(school=pupil.school):
        only = AbsenceReport.objects.get()
    assert (only.pk, only.category, only.message) == (first.pk, "appointment", "Dentist after all")


def test_report_for_days_already_recorded_points_to_the_office(fam, client_as, monday_morning, world):
    pupil, _, user = fam
    client = client_as(user)
    _report(client, pupil)
    with scope(school=pupil.school):
        AbsenceReport.objects.update(status=AbsenceReport.Status.ACCEPTED)
    response = _report(client, pupil, first_date=MONDAY.isoformat(),
                       last_date=(MONDAY + dt.timedelta(days=1)).isoformat())
    assert "already been reported and recorded" in response.content.decode()
    with scope(school=pupil.school):
        assert AbsenceReport.objects.count() == 1


# --- 12. the leave form's messages; the parent's own reason on their leave page ----------------------------


def test_leave_out_of_term_message_and_earliest_school_day(fam, client_as):
    pupil, _, user = fam
    client = client_as(user)
    with time_machine.travel(at(dt.date(2025, 9, 6), 10), tick=False):  # a Saturday; +14 days is a Saturday
        early = client.post(reverse("parent:leave"), {
            "child": pupil.pk, "first_date": "2025-09-10", "last_date": "2025-09-10", "sessions": "BOTH",
            "circumstance": "exceptional", "reason": "Funeral"}).content.decode()
        closed = client.post(reverse("parent:leave"), {
            "child": pupil.pk, "first_date": "2025-10-25", "last_date": "2025-10-26", "sessions": "BOTH",
            "circumstance": "exceptional", "reason": "Funeral"}).content.decode()
    assert "Monday 22 September 2025" in early  # not Saturday 20th
    assert "nothing to report" not in closed
    assert "Please choose days when the school is open" in closed


def test_parent_sees_their_own_reason_on_their_leave_page(fam, client_as):
    pupil, guardian, user = fam
    with scope(school=pupil.school):
        item = LeaveRequest.objects.create(school=pupil.school, pupil=pupil, reference=reference_new(kind=LeaveRequest),
                                           first_date=dt.date(2025, 10, 6),
                                           last_date=dt.date(2025, 10, 7), circumstance="exceptional",
                                           reason="Grandmother's funeral in Cork", requested_by=user,
                                           guardian=guardian)
    page = client_as(user).get(reverse("parent:leave_detail", args=[item.pk])).content.decode()
    assert "Grandmother&#x27;s funeral in Cork" in page


# --- 13. the aged-N link carries its count --------------------------------------------------------------------


def test_aged_n_link_has_a_count(world, calendar, client_as):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    with scope(school=world.school):
        marks_save(school=world.school, by=None, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")])
    with time_machine.travel(at(dt.date(2025, 9, 22), 10), tick=False):
        page = client_as(world.users["office_staff"]).get(reverse("school_home", args=[world.school.slug]))
    assert '<span class="badge bad" id="aged-count">1 pupil</span>' in page.content.decode()


# --- 15. aged N grouped by pupil; several resolved at once ---------------------------------------------------


def _aged(world, pupils_sessions):
    with scope(school=world.school):
        for pupil, days in pupils_sessions:
            marks_save(school=world.school, by=None,
                       entries=[MarkEntry(pupil.pk, d, s, "N") for d in days for s in ("AM", "PM")])


def test_aged_n_is_one_row_per_pupil_and_resolves_several_at_once(world, calendar, client_as):
    a, b, c = (f.EnrolmentFactory(pupil__school=world.school).pupil for _ in range(3))
    days = [MONDAY + dt.timedelta(days=n) for n in range(4)]
    _aged(world, [(a, days), (b, days[:1]), (c, days[:2])])
    office = client_as(world.users["office_staff"])
    url = reverse("absence:aged", args=[world.school.slug])
    with time_machine.travel(at(dt.date(2025, 9, 29), 10), tick=False):
        html = office.get(url).content.decode()
        assert html.count(f'id="aged-{a.pk}"') == 1  # eight sessions, one row
        assert html.count(f'name="session" value="{a.pk}:') == 8
        assert "3 pupils</strong>, 14 sessions" in html
        response = office.post(url, {"pupil": [a.pk, b.pk], "session": [f"{c.pk}:{MONDAY.isoformat()}:AM"],
                                     "code": "O", "reason": "No reason established within 5 school days"},
                               follow=True)
    assert "11 sessions of 3 pupils changed from N to O" in response.content.decode()
    with scope(school=world.school):
        left = sorted(Mark.objects.filter(school=world.school, code="N").values_list("pupil_id", "date", "session"))
    assert left == [(c.pk, MONDAY, "PM"), (c.pk, days[1], "AM"), (c.pk, days[1], "PM")]


@pytest.mark.parametrize(("data", "message"), [
    ({"code": "O", "reason": "x"}, "Tick at least one pupil or session"),
    ({"pupil": "PUPIL", "code": "", "reason": "x"}, "Choose the code to record."),
    ({"pupil": "PUPIL", "code": "Z9", "reason": "x"}, "Choose a code from the list."),
    ({"pupil": "PUPIL", "code": "O", "reason": ""}, "Give the reason"),
    ({"session": "999999:2025-09-08:AM", "code": "O", "reason": "x"}, "Tick at least one pupil or session"),
])
def test_aged_n_bulk_resolve_bad_input_writes_nothing(world, calendar, client_as, data, message):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    _aged(world, [(pupil, [MONDAY])])
    data = {k: (str(pupil.pk) if v == "PUPIL" else v) for k, v in data.items()}
    with time_machine.travel(at(dt.date(2025, 9, 29), 10), tick=False):
        response = client_as(world.users["office_staff"]).post(reverse("absence:aged", args=[world.school.slug]),
                                                               data)
    assert response.status_code == 400
    assert message in response.content.decode()
    with scope(school=world.school):
        assert Mark.objects.filter(school=world.school, code="N").count() == 2


def test_aged_n_bulk_resolve_needs_amend_permission(world, calendar, client_as):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    _aged(world, [(pupil, [MONDAY])])
    response = client_as(world.users["class_teacher"]).post(
        reverse("absence:aged", args=[world.school.slug]), {"pupil": pupil.pk, "code": "O", "reason": "x"})
    assert response.status_code == 403
