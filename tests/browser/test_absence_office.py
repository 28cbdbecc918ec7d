"""Office follow-up in a real browser: accepting a report, first-day calls and N resolution, leave decisions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Page, expect

from absence.models import LeaveRequest
from registers.models import Mark
from registers.selectors import mark_history
from registers.services import MarkEntry, marks_save
from tests import factories as f
from tests.absence.conftest import MONDAY, at
from tests.absence.factories import AbsenceReportFactory, family
from tests.browser.test_parent_portal import parent_sign_in
from tests.conftest import add_calendar, signed_in_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, live_server, user) -> None:
    client = signed_in_client(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def codes(school, pupil):
    with scope(school=school):
        return {(m.date, m.session): m.code for m in Mark.objects.filter(school=school, pupil=pupil)}


def test_office_accepts_a_report_and_the_register_shows_I(page: Page, live_server, world):
    tuesday = MONDAY + dt.timedelta(days=1)
    with scopes_disabled():
        add_calendar(world.school)
        pupil, _, _ = family(world.school)
        report = AbsenceReportFactory(pupil=pupil, first_date=MONDAY, last_date=tuesday, message="Chickenpox")
    with time_machine.travel(at(MONDAY, 8, 40), tick=True):
        sign_in(page, live_server, world.users["office_staff"])
        page.goto(live_server.url + reverse("school_home", args=[world.school.slug]))
        page.get_by_role("link", name="Reports from parents").first.click()
        row = page.locator(f"#report-{report.pk}")
        expect(row).to_contain_text("Chickenpox")
        row.get_by_role("button", name=f"Accept {report.reference}").click()
        expect(page.get_by_role("status")).to_contain_text(f"Report {report.reference} accepted: I recorded for 4")
        expect(page.locator("#pending")).to_contain_text("No reports waiting")
        page.get_by_role("link", name=pupil.full_name).first.click()
        expect(page.locator("#history")).to_contain_text(report.reference)
        # The register itself shows the pre-filled I for this morning.
        page.goto(live_server.url + reverse("registers:register", kwargs={
            "school_slug": world.school.slug, "group_id": pupil.registration_group_id, "date": MONDAY,
            "session": "AM"}))
        expect(page.locator(f"#code_{pupil.pk}")).to_have_value("I")
    assert codes(world.school, pupil) == {(MONDAY, "AM"): "I", (MONDAY, "PM"): "I",
                                          (tuesday, "AM"): "I", (tuesday, "PM"): "I"}


def test_first_day_call_logged_and_N_resolved_with_the_amendment_trail(page: Page, live_server, world):
    with scopes_disabled():
        add_calendar(world.school)
        pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
        f.PupilContactFactory(pupil=pupil, priority=1, guardian__forename="Asha", guardian__surname="Patel")
    office = world.users["office_staff"]
    with scope(school=world.school):
        marks_save(school=world.school, by=office, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")])
    with time_machine.travel(at(MONDAY, 9, 35), tick=True):
        sign_in(page, live_server, office)
        page.goto(live_server.url + reverse("absence:today", args=[world.school.slug]))
        card = page.locator(f"#pupil-{pupil.pk}")
        expect(card).to_contain_text("Asha Patel")
        card.get_by_label("Who").select_option(label="Asha Patel (Mother)")
        card.get_by_label("How").select_option("call")
        card.get_by_label("Outcome").select_option("reason_given")
        card.get_by_label("Note").fill("Stomach bug, back tomorrow")
        card.get_by_role("button", name="Log attempt").click()
        expect(page.get_by_role("status")).to_contain_text("Contact attempt")
        card = page.locator(f"#pupil-{pupil.pk}")
        expect(card).to_contain_text("Stomach bug, back tomorrow")
        card.get_by_label("Code").select_option("I")
        card.get_by_label("Reason").fill("Mother phoned at 09:35: stomach bug")
        card.get_by_role("button", name="Replace N").click()
        expect(page.get_by_role("status")).to_contain_text("amended from N to I")
        expect(page.locator(f"#pupil-{pupil.pk}")).to_have_count(0)
        page.goto(live_server.url + reverse("absence:pupil", args=[world.school.slug, pupil.pk]))
        history = page.locator("#history")
        expect(history).to_contain_text("Mother phoned at 09:35: stomach bug")
        expect(history.locator("tr", has_text="stomach bug")).to_contain_text("N")
    with scope(school=world.school):
        trail = mark_history(school=world.school, pupil_id=pupil.pk)
    assert (trail[0]["original"], trail[0]["new"], trail[0]["name"]) == ("N", "I", office.display_name())


def test_leave_request_granted_and_another_refused(page: Page, live_server, world):
    with scopes_disabled():
        add_calendar(world.school)
        pupil, _, _ = family(world.school, username="gran@example.org", email="gran@example.org")
    with time_machine.travel(at(MONDAY, 10), tick=True):
        parent_sign_in(page, live_server, "gran@example.org")
        for first, reason in (("2025-10-06", "Audition at the Royal Ballet School"),
                              ("2025-10-13", "Family holiday to Spain")):
            page.goto(live_server.url + reverse("parent:leave"))
            page.get_by_label("First day of leave").fill(first)
            page.get_by_label("Last day of leave").fill(first)
            page.get_by_label("Interview for a job or another school").check()
            page.get_by_label("Reason for the request").fill(reason)
            page.get_by_role("button", name="Send request").click()
            expect(page.get_by_role("heading", name="Leave request: waiting for the headteacher")).to_be_visible()
        with scope(school=world.school):
            audition = LeaveRequest.objects.get(reason__startswith="Audition")
            holiday = LeaveRequest.objects.get(reason__startswith="Family")

        sign_in(page, live_server, world.users["headteacher"])
        page.goto(live_server.url + reverse("absence:leave", args=[world.school.slug]))
        page.locator("#leave-pending tr", has_text=audition.reference).get_by_role("link", name="Decide").click()
        page.get_by_label("Granted under").select_option("interview")
        page.get_by_role("button", name="Grant leave").click()
        expect(page.get_by_role("status")).to_contain_text(f"Leave {audition.reference} granted: J1")
        page.locator("#leave-pending tr", has_text=holiday.reference).get_by_role("link", name="Decide").click()
        page.get_by_label("Reason for refusing").fill("A holiday is not an exceptional circumstance")
        page.get_by_role("button", name="Refuse leave").click()
        expect(page.get_by_role("status")).to_contain_text(f"Leave {holiday.reference} refused")

        parent_sign_in(page, live_server, "gran@example.org")
        page.goto(live_server.url + reverse("parent:child", args=[pupil.pk]))
        leave = page.locator("#leave")
        expect(leave.locator("tr", has_text=audition.reference)).to_contain_text("Granted")
        expect(leave.locator("tr", has_text=holiday.reference)).to_contain_text(
            "Refused: A holiday is not an exceptional circumstance")
    assert codes(world.school, pupil) == {(dt.date(2025, 10, 6), "AM"): "J1", (dt.date(2025, 10, 6), "PM"): "J1"}
