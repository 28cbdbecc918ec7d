"""Office follow-up: the reports queue, unexplained today, first-day calls, resolving N, aged N, medical evidence."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from absence import services
from absence.models import AbsenceReport, ContactAttempt, MedicalEvidenceRequest, SentMessage
from registers.models import Mark
from registers.selectors import mark_history
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import MONDAY, at
from .factories import AbsenceReportFactory, family
from .messages import messages_deliver

pytestmark = pytest.mark.django_db


def _codes(school, pupil):
    with scope(school=school):
        return {(m.date, m.session): m.code for m in Mark.objects.filter(school=school, pupil=pupil)}


def _mark(school, pupil, code, day=MONDAY, session="AM", by=None):
    with scope(school=school):
        marks_save(school=school, entries=[MarkEntry(pupil.pk, day, session, code)], by=by)


# ---------------------------------------------------------------- accepting reports


def test_accepting_an_illness_report_prefills_I_for_its_sessions(fam, world, client_as, monday_morning):
    pupil, _, _ = fam
    report = AbsenceReportFactory(pupil=pupil, first_date=MONDAY, last_date=MONDAY + dt.timedelta(days=1))
    office = client_as(world.users["office_staff"])
    response = office.post(reverse("absence:report_accept", args=[world.school.slug, report.pk]))
    assert response.status_code == 302
    assert _codes(world.school, pupil) == {(MONDAY, "AM"): "I", (MONDAY, "PM"): "I",
                                           (MONDAY + dt.timedelta(days=1), "AM"): "I",
                                           (MONDAY + dt.timedelta(days=1), "PM"): "I"}
    with scope(school=world.school):
        report.refresh_from_db()
        assert report.status == "accepted" and report.code == "I"
        history = mark_history(school=world.school, pupil_id=pupil.pk)
        assert history[0]["source"] == "absence" and report.reference in history[0]["reason"]


@time_machine.travel(at(MONDAY + dt.timedelta(days=1), 10), tick=False)
def test_accepting_amends_an_N_but_keeps_a_present_mark(fam, world):
    pupil, _, _ = fam
    office = world.users["office_staff"]
    _mark(world.school, pupil, "N", session="AM")
    _mark(world.school, pupil, "/", day=MONDAY + dt.timedelta(days=1), session="AM")
    report = AbsenceReportFactory(pupil=pupil, first_date=MONDAY, last_date=MONDAY + dt.timedelta(days=1),
                                  category="appointment")
    with scope(school=world.school):
        services.absence_report_accept(report=report, by=office)
        history = mark_history(school=world.school, pupil_id=pupil.pk)
    codes = _codes(world.school, pupil)
    assert codes[(MONDAY, "AM")] == "M" and codes[(MONDAY, "PM")] == "M"
    assert codes[(MONDAY + dt.timedelta(days=1), "AM")] == "/"  # the child came in: never overwritten
    amended = [h for h in history if h["original"] == "N"]
    assert amended and amended[0]["new"] == "M" and "appointment" in amended[0]["reason"].lower()
    assert amended[0]["name"] == office.display_name()


def test_other_reason_needs_the_officer_to_choose_a_code(fam, world, client_as, monday_morning):
    pupil, _, _ = fam
    report = AbsenceReportFactory(pupil=pupil, category="other")
    office = client_as(world.users["office_staff"])
    url = reverse("absence:report_accept", args=[world.school.slug, report.pk])
    page = office.post(url, follow=True).content.decode()
    assert "Choose the code" in page
    assert _codes(world.school, pupil) == {}
    office.post(url, {"code": "C"})
    assert set(_codes(world.school, pupil).values()) == {"C"}


def test_rejecting_needs_a_reason_and_tells_the_parent(fam, world, client_as, monday_morning):
    pupil, _, user = fam
    report = AbsenceReportFactory(pupil=pupil)
    office = client_as(world.users["office_staff"])
    url = reverse("absence:report_reject", args=[world.school.slug, report.pk])
    office.post(url, {"reason": ""})
    with scope(school=world.school):
        report.refresh_from_db()
        assert report.status == "pending"
    office.post(url, {"reason": "Pupil was seen in school"})
    with scope(school=world.school):
        report.refresh_from_db()
        assert report.status == "rejected"
    assert messages_deliver() == 1
    assert "Pupil was seen in school" in mail.outbox[-1].body
    page = client_as(user).get(reverse("parent:child", args=[pupil.pk])).content.decode()
    assert "Pupil was seen in school" in page
    assert _codes(world.school, pupil) == {}


def test_a_report_cannot_be_decided_twice(fam, world, monday_morning):
    pupil, _, _ = fam
    report = AbsenceReportFactory(pupil=pupil)
    with scope(school=world.school):
        services.absence_report_accept(report=report, by=world.users["office_staff"])
        with pytest.raises(services.AbsenceError, match="already"):
            services.absence_report_reject(report=report, by=world.users["office_staff"], reason="x")


def test_class_teacher_cannot_work_the_queue(world, client_as, calendar):
    teacher = client_as(world.users["class_teacher"])
    assert teacher.get(reverse("absence:reports", args=[world.school.slug])).status_code == 403
    assert teacher.get(reverse("absence:today", args=[world.school.slug])).status_code == 403
    governor = client_as(world.users["governor"])
    assert governor.get(reverse("absence:leave", args=[world.school.slug])).status_code == 403


# ---------------------------------------------------------------- unexplained today


def _absent_class(school, n, by):
    pupils = []
    for i in range(n):
        pupil = f.EnrolmentFactory(pupil__school=school, pupil__has_social_worker=(i == 0)).pupil
        f.PupilContactFactory(pupil=pupil, priority=2, relationship="Grandmother",
                              guardian__forename="Second", guardian__surname=f"Contact{i}")
        f.PupilContactFactory(pupil=pupil, priority=1, relationship="Mother",
                              guardian__forename="First", guardian__surname=f"Contact{i}")
        pupils.append(pupil)
    with scope(school=school):
        friday = MONDAY - dt.timedelta(days=3)
        earlier = [MarkEntry(p.pk, friday, s, "/" if s == "AM" else "\\") for p in pupils for s in ("AM", "PM")]
        marks_save(school=school, entries=earlier, by=by)
        marks_save(school=school, entries=[MarkEntry(p.pk, MONDAY, "AM", "N") for p in pupils], by=by)
    return pupils


def test_unexplained_today_lists_N_after_the_register_closes_with_contacts_in_order(world, client_as, calendar):
    pupils = _absent_class(world.school, 2, world.users["office_staff"])
    url = reverse("absence:today", args=[world.school.slug])
    office = client_as(world.users["office_staff"])
    with time_machine.travel(at(MONDAY, 8, 55), tick=False):
        page = office.get(url).content.decode()
        assert pupils[0].surname not in page and "No register has closed yet" in page
    with time_machine.travel(at(MONDAY, 9, 5), tick=False):
        page = office.get(url).content.decode()
    assert pupils[0].surname in page and pupils[1].surname in page
    assert page.index("First Contact0") < page.index("Second Contact0")
    assert "66.7%" in page  # 2 present sessions on Friday, 1 N today
    assert "Fri / \\" in page  # previous day's status
    assert "Social worker" not in page  # office staff do not see it
    with time_machine.travel(at(MONDAY, 9, 5), tick=False):
        head_page = client_as(world.users["headteacher"]).get(url).content.decode()
    assert "Social worker" in head_page


def test_unexplained_today_is_a_fixed_number_of_queries(world, client_as, calendar):
    office = client_as(world.users["office_staff"])
    url = reverse("absence:today", args=[world.school.slug])
    _absent_class(world.school, 3, world.users["office_staff"])
    with time_machine.travel(at(MONDAY, 9, 5), tick=False):
        office.get(url)
        with CaptureQueriesContext(connection) as small:
            assert office.get(url).status_code == 200
        _absent_class(world.school, 12, world.users["office_staff"])
        with CaptureQueriesContext(connection) as large:
            page = office.get(url).content.decode()
    assert page.count('class="badge bad">N AM') == 15
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_first_day_call_logged_and_N_resolved_with_the_amendment_trail(world, client_as, calendar):
    pupils = _absent_class(world.school, 1, world.users["office_staff"])
    pupil = pupils[0]
    office_user = world.users["office_staff"]
    office = client_as(office_user)
    with scope(school=world.school):
        first = pupil.contacts.order_by("priority").first()
    with time_machine.travel(at(MONDAY, 9, 35), tick=False):
        office.post(reverse("absence:contact_add", args=[world.school.slug, pupil.pk]),
                    {"contact": first.pk, "method": "call", "outcome": "reason_given", "note": "Vomiting bug"})
        response = office.post(reverse("absence:resolve", args=[world.school.slug, pupil.pk]),
                               {"keys": f"{MONDAY.isoformat()}:AM", "code": "I",
                                "reason": "Mother phoned 09:35: sickness"})
    assert response.status_code == 302
    with scope(school=world.school):
        attempt = ContactAttempt.objects.get()
        assert (attempt.method, attempt.outcome, attempt.by, attempt.contact) == (
            "call", "reason_given", office_user, first)
        history = mark_history(school=world.school, pupil_id=pupil.pk)
    assert history[0]["original"] == "N" and history[0]["new"] == "I"
    assert history[0]["reason"] == "Mother phoned 09:35: sickness" and history[0]["source"] == "first_day"
    assert history[0]["position"] == office_user.position
    assert _codes(world.school, pupil)[(MONDAY, "AM")] == "I"


@pytest.mark.parametrize(("data", "message"), [
    ({"code": "I", "reason": ""}, "This field is required"),
    ({"code": "N", "reason": "x"}, "Select a valid choice"),
    ({"code": "I", "reason": "x", "keys": "2025-09-09:AM"}, "Select a valid choice"),
])
def test_bad_resolution_is_refused_and_nothing_written(world, client_as, calendar, data, message):
    pupil = _absent_class(world.school, 1, world.users["office_staff"])[0]
    payload = {"keys": f"{MONDAY.isoformat()}:AM", **data}
    with time_machine.travel(at(MONDAY, 9, 35), tick=False):
        page = client_as(world.users["office_staff"]).post(
            reverse("absence:resolve", args=[world.school.slug, pupil.pk]), payload, follow=True).content.decode()
    assert message in page
    assert _codes(world.school, pupil)[(MONDAY, "AM")] == "N"


def test_unexplained_notification_is_sent_once_per_day(world, calendar):
    pupils = _absent_class(world.school, 2, world.users["office_staff"])
    with time_machine.travel(at(MONDAY, 9, 35), tick=False), scope(school=world.school):
        first = services.unexplained_notify(school=world.school)
        messages_deliver()
        second = services.unexplained_notify(school=world.school)
        assert first.pupils == 2 and first.messages == 4  # email and text to the first contact
        assert second.pupils == 0
        sent = SentMessage.objects.filter(kind="unexplained")
        assert {m.channel for m in sent} == {"email", "sms"}
        assert all(m.status == "sent" for m in sent)
        assert {m.guardian.forename for m in sent} == {"First"}
    assert len(mail.outbox) == 2 and pupils[0].forename in mail.outbox[0].body + mail.outbox[1].body


# ---------------------------------------------------------------- aged N codes


def test_aged_N_lists_marks_older_than_the_limit_and_resolves_in_one_click(world, client_as, calendar):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    _mark(world.school, pupil, "N", day=dt.date(2025, 9, 8))  # Monday
    _mark(world.school, pupil, "N", day=dt.date(2025, 9, 9))  # Tuesday
    office = client_as(world.users["office_staff"])
    url = reverse("absence:aged", args=[world.school.slug])
    # Tuesday 16th: Monday 8th's N is 6 school days old, Tuesday 9th's is 5 (not yet past the limit).
    with time_machine.travel(at(dt.date(2025, 9, 16), 10), tick=False):
        page = office.get(url).content.decode()
        assert "Mon 8 Sep 2025" in page and "Tue 9 Sep 2025" not in page
        office.post(reverse("absence:resolve", args=[world.school.slug, pupil.pk]),
                    {"keys": "2025-09-08:AM", "code": "O", "reason": "No reason established"})
        assert "Mon 8 Sep 2025" not in office.get(url).content.decode()
    assert _codes(world.school, pupil)[(dt.date(2025, 9, 8), "AM")] == "O"


def test_aged_N_uses_the_school_policy_limit(world, calendar):
    f.SchoolPolicyFactory(school=world.school, effective_from=dt.date(2025, 9, 1), n_code_limit_school_days=3)
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    _mark(world.school, pupil, "N", day=dt.date(2025, 9, 8))
    with scope(school=world.school):
        # Replaceable up to the third school day after Monday 8th (Thursday 11th), overdue on Friday 12th.
        assert services.selectors.aged_n_codes(school=world.school, today=dt.date(2025, 9, 11)) == []
        assert len(services.selectors.aged_n_codes(school=world.school, today=dt.date(2025, 9, 12))) == 1


# ---------------------------------------------------------------- medical evidence


def test_medical_evidence_requested_after_the_policys_days_of_illness(world, client_as, calendar):
    f.SchoolPolicyFactory(school=world.school, effective_from=dt.date(2025, 9, 1),
                                medical_evidence_after_days=3)
    pupil, _, user = family(world.school, email="dad@example.org")
    office = world.users["office_staff"]
    days = [dt.date(2025, 9, 8), dt.date(2025, 9, 9), dt.date(2025, 9, 10)]
    with scope(school=world.school):
        marks_save(school=world.school, by=office,
                   entries=[MarkEntry(pupil.pk, d, s, "N") for d in days for s in ("AM", "PM")])
        services.n_codes_resolve(pupil=pupil, by=office, keys=[(d, s) for d in days[:2] for s in ("AM", "PM")],
                                 code="I", reason="Flu")
        assert not MedicalEvidenceRequest.objects.exists()
        services.n_codes_resolve(pupil=pupil, by=office, keys=[(days[2], "AM"), (days[2], "PM")],
                                 code="I", reason="Flu")
        request = MedicalEvidenceRequest.objects.get()
        assert (request.illness_from, request.days) == (days[0], 3)
        assert SentMessage.objects.filter(kind="medical_evidence", to="dad@example.org").exists()
        # A repeated check asks nothing more.
        assert services.medical_evidence_check(pupil=pupil, by=office, today=days[2]) is None
    client = client_as(office)
    page = client.get(reverse("absence:medical", args=[world.school.slug])).content.decode()
    assert pupil.surname in page and "Requested" in page
    client.post(reverse("absence:medical_record", args=[world.school.slug, request.pk]),
                {"received": "yes", "note": "GP letter"})
    with scope(school=world.school):
        request.refresh_from_db()
        assert request.status == "received" and request.recorded_by == office
    assert "received" in client_as(user).get(reverse("parent:child", args=[pupil.pk])).content.decode()


# ---------------------------------------------------------------- home page and invitations


def test_home_panel_shows_counts_with_bounded_queries(world, client_as, calendar):
    AbsenceReportFactory(pupil__school=world.school)
    office = client_as(world.users["office_staff"])
    page = office.get(reverse("school_home", args=[world.school.slug])).content.decode()
    assert "1 waiting" in page and reverse("absence:reports", args=[world.school.slug]) in page
    assert reverse("absence:today", args=[world.school.slug]) in page  # nav link
    teacher_page = client_as(world.users["class_teacher"]).get(
        reverse("school_home", args=[world.school.slug])).content.decode()
    assert reverse("absence:reports", args=[world.school.slug]) not in teacher_page


def test_invitation_sets_a_password_and_the_parent_lands_on_their_portal(world, client_as, calendar, client):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    contact = f.PupilContactFactory(pupil=pupil, guardian__email="Carer@Example.org")
    office = client_as(world.users["office_staff"])
    office.post(reverse("absence:invite", args=[world.school.slug, contact.guardian.pk]))
    assert messages_deliver() == 1
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(word for word in body.split() if "/accounts/invitations/" in word)
    path = link[link.index("/accounts/"):]
    response = client.get(path, follow=True)
    assert "New to the portal?" in response.content.decode()
    set_url = response.redirect_chain[-1][0]
    client.post(set_url, {"password1": "a-long-Secret-99", "password2": "a-long-Secret-99"})
    expired = client.get(path, follow=True)
    assert expired.status_code == 410 and "This link has expired" in expired.content.decode()
    # Signing in with no `next`: `home` sends a parent with no school role to the portal.
    response = client.post(reverse("login"), {"username": "carer@example.org", "password": "a-long-Secret-99"},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("parent:home")
    page = response.content.decode()
    assert pupil.surname in page and "Your children" in page


def test_invitation_without_email_is_refused(world, client_as, calendar):
    guardian = f.GuardianFactory(school=world.school, email="")
    page = client_as(world.users["office_staff"]).post(
        reverse("absence:invite", args=[world.school.slug, guardian.pk]), follow=True).content.decode()
    assert "no email address" in page
    with scope(school=world.school):
        guardian.refresh_from_db()
        assert guardian.user is None


def test_accepting_a_report_requires_amend_rights(fam, world, client_as, monday_morning):
    pupil, _, _ = fam
    report = AbsenceReportFactory(pupil=pupil)
    assert client_as(world.users["class_teacher"]).post(
        reverse("absence:report_accept", args=[world.school.slug, report.pk])).status_code == 403
    with scope(school=world.school):
        assert AbsenceReport.objects.get().status == "pending"


@pytest.mark.parametrize("page", ["absence:reports", "absence:leave"])
def test_queues_are_a_fixed_number_of_queries(world, client_as, calendar, page):
    from .factories import LeaveRequestFactory

    def add(n):
        for _ in range(n):
            AbsenceReportFactory(pupil__school=world.school)
            LeaveRequestFactory(pupil__school=world.school)

    head = client_as(world.users["headteacher"])
    url = reverse(page, args=[world.school.slug])
    add(2)
    head.get(url)
    with CaptureQueriesContext(connection) as small:
        assert head.get(url).status_code == 200
    add(10)
    with CaptureQueriesContext(connection) as large:
        head.get(url)
    assert len(large) == len(small)
