"""The parent portal in a real browser: signing in, reporting an absence, another child's URL."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Page, expect

from absence.models import AbsenceReport
from tests.absence.conftest import MONDAY, at
from tests.absence.factories import family
from tests.conftest import add_calendar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def parent_sign_in(page: Page, live_server, username: str) -> None:
    page.context.clear_cookies()  # sign out whoever was signed in
    page.goto(live_server.url + reverse("login") + "?next=" + reverse("parent:home"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your children")).to_be_visible()


def test_parent_reports_an_absence_and_sees_it(page: Page, live_server, world):
    with scopes_disabled():
        add_calendar(world.school)
        pupil, _, _ = family(world.school, username="mum@example.org", email="mum@example.org")
    with time_machine.travel(at(MONDAY, 8, 10), tick=True):
        parent_sign_in(page, live_server, "mum@example.org")
        page.get_by_role("link", name="Report an absence").first.click()
        page.get_by_label("Child").select_option(str(pupil.pk))
        page.get_by_label("First day of absence").fill(MONDAY.isoformat())
        page.get_by_label("Last day of absence").fill(MONDAY.isoformat())
        page.get_by_label("Illness").check()
        page.get_by_label("Message to the school").fill("High temperature overnight")
        page.get_by_role("button", name="Send report").click()
        expect(page.get_by_role("heading", name="Absence report waiting for the school")).to_be_visible()
        with scope(school=world.school):
            report = AbsenceReport.objects.get()
        expect(page.locator(".ref")).to_have_text(report.reference)
        page.get_by_role("link", name=f"Back to {pupil.forename}").click()
        expect(page.locator("#reports")).to_contain_text(report.reference)
        expect(page.locator("#reports")).to_contain_text("Waiting for the school")


def test_report_for_a_closed_day_is_refused_in_the_browser(page: Page, live_server, world):
    with scopes_disabled():
        add_calendar(world.school)
        pupil, _, _ = family(world.school, username="dad@example.org")
    with time_machine.travel(at(MONDAY, 8, 10), tick=True):
        parent_sign_in(page, live_server, "dad@example.org")
        page.goto(live_server.url + reverse("parent:report") + f"?child={pupil.pk}")
        page.get_by_label("First day of absence").fill("2025-11-14")
        page.get_by_label("Last day of absence").fill("2025-11-14")
        page.get_by_label("Religious observance").check()
        page.get_by_role("button", name="Send report").click()
        expect(page.get_by_role("alert")).to_contain_text("INSET day")
        expect(page.locator("#form-errors")).to_be_focused()
    with scope(school=world.school):
        assert not AbsenceReport.objects.exists()


def test_parent_trying_another_childs_url_gets_404(page: Page, live_server, world):
    with scopes_disabled():
        add_calendar(world.school)
        mine, _, _ = family(world.school, username="carer@example.org")
        theirs, _, _ = family(world.school)
    parent_sign_in(page, live_server, "carer@example.org")
    response = page.goto(live_server.url + reverse("parent:child", args=[mine.pk]))
    assert response.status == 200
    response = page.goto(live_server.url + reverse("parent:child", args=[theirs.pk]))
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(theirs.surname)
