"""An attendance officer's whole path in a real browser: a signal appears, the nightly opens a case, the
context is reviewed, the stage-1 letter approved, a meeting held with minutes, a contract agreed, its review
shows improvement and the case is closed as improved; the parent sees the letter and the invitation."""

from __future__ import annotations

import datetime as dt
import os
from unittest import mock

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Page, expect

from interventions import tasks
from interventions.ladders import NATIONAL
from interventions.models import Action, Case, CaseEvent
from reporting import tasks as reporting_tasks
from reporting.models import CalculationRun
from tests.absence.conftest import at
from tests.absence.factories import family
from tests.browser.test_parent_portal import parent_sign_in
from tests.conftest import add_calendar, signed_in_client
from tests.interventions.conftest import ladder_for_tests, letters_ready
from tests.reporting.helpers import record, school_sessions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NIGHT = dt.date(2025, 10, 24)
REVIEW_DAY = dt.date(2025, 12, 15)


def shot(page: Page, name: str) -> None:
    """Screenshots of each page at 1280 and 768 px when CASEWORK_SCREENSHOTS names a folder (for review)."""
    folder = os.environ.get("CASEWORK_SCREENSHOTS")
    if not folder:
        return
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in(page: Page, live_server, user) -> None:
    client = signed_in_client(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_officer_works_a_case_from_signal_to_closed_as_improved(page: Page, live_server, world):
    school = world.school
    officer = world.users["attendance_officer"]
    with scopes_disabled():
        add_calendar(school)
        ladder_for_tests(school, NATIONAL)
        letters_ready(school)
        pupil, _, parent = family(school, username="parent-hale", year_group="4")
        enrolment = pupil.enrolments.get()
        # Half the sessions missed since September: severe and persistent absence.
        sessions = school_sessions(school, dt.date(2025, 9, 3), end=NIGHT)
        record(enrolment, sessions, "".join(".G"[n % 2] for n in range(len(sessions))))
        run = CalculationRun.objects.create(school=school, on=NIGHT)
    # The nightly: the statistics task, then the case sync it chains (real task code).
    with time_machine.travel(at(NIGHT + dt.timedelta(days=1), 1, 15), tick=True), \
            mock.patch.object(tasks.cases_sync_school, "delay") as chained:
        reporting_tasks.stats_batch.apply(kwargs={"run_ids": [run.pk]}).get()
        chained.assert_called_once_with(school_id=school.pk)
        tasks.cases_sync_school.apply(kwargs={"school_id": school.pk}).get()

    with time_machine.travel(at(dt.date(2025, 10, 27), 9, 0), tick=True):
        sign_in(page, live_server, officer)
        page.goto(live_server.url + reverse("interventions:queue", args=[school.slug]))
        shot(page, "queue")
        due = page.locator("section", has=page.get_by_role("heading", name="Cases with an action due"))
        due.get_by_role("link", name=pupil.full_name).click()
        expect(page.get_by_role("heading", name=pupil.full_name)).to_be_visible()
        expect(page.locator(".timeline")).to_contain_text("Raised: Severe absence")

        # Context review, then the stage-1 letter approved with the officer named.
        page.get_by_role("button", name="Propose \"Attendance concern letter\"").click()
        expect(page.get_by_role("heading", name="Before \"Attendance concern letter\" goes out")).to_be_visible()
        expect(page.locator("table.context")).to_contain_text("Illness or medical")
        shot(page, "context-review")
        page.get_by_label("Approve and send").check()
        page.get_by_role("button", name="Record my decision").click()
        expect(page.locator(".timeline")).to_contain_text("Letter: Attendance concern letter")
        expect(page.locator(".timeline")).to_contain_text("approved by")

        # A meeting: arranged, its invitation approved, held with minutes.
        page.locator("#meeting summary").click()
        meeting = page.locator("#meeting form")
        meeting.get_by_label("When").fill("2025-11-04T09:30")
        meeting.get_by_label("Place").fill("Family room")
        meeting.get_by_role("button", name="Arrange").click()
        page.get_by_role("link", name="Review context").first.click()
        page.get_by_label("Approve and send").check()
        page.get_by_role("button", name="Record my decision").click()
        page.locator("#h-meetings").locator("..").locator("summary", has_text="Record the meeting").click()
        record_form = page.locator("form[action*='/record/']")
        record_form.get_by_label("Status").select_option("held")
        record_form.get_by_label("Minutes").fill("Mornings are hard; breakfast club offered and accepted.")
        record_form.get_by_role("button", name="Record").click()
        expect(page.locator(".timeline")).to_contain_text("Mornings are hard")

        # An attendance contract with a target and a review date.
        page.locator("#contract summary").click()
        contract = page.locator("#contract form")
        contract.locator("#contract-start").fill("2025-11-03")
        contract.locator("#contract-end").fill("2026-02-13")
        contract.get_by_label("What the parents agree to do").fill("Arrive by 8:50; call before 9:00 if ill.")
        contract.get_by_label("Support the school will give").fill("Breakfast club; weekly mentor check-in.")
        contract.get_by_role("button", name="Agree").click()
        expect(page.locator(".timeline")).to_contain_text("Attendance contract agreed")
        shot(page, "case")
        page.goto(live_server.url + reverse("interventions:severe", args=[school.slug]))
        shot(page, "severe-list")

    # Attendance recovers over the monitoring period.
    with scopes_disabled():
        record(enrolment, school_sessions(school, dt.date(2025, 11, 3), end=REVIEW_DAY - dt.timedelta(days=3)), ".")
    with time_machine.travel(at(REVIEW_DAY, 9, 0), tick=True):
        sign_in(page, live_server, officer)
        with scopes_disabled():
            case = Case.objects.get(school=school, enrolment=enrolment)
        page.goto(live_server.url + reverse("interventions:case", args=[school.slug, case.pk]))
        expect(page.locator("#h-contracts").locator("..")).to_contain_text("During the monitoring period")
        page.locator("#h-contracts").locator("..").locator("summary", has_text="Review").click()
        review = page.locator("form[action*='/review/']")
        review.get_by_label("Outcome").select_option("improved")
        review.get_by_role("button", name="Record review").click()
        expect(page.locator(".timeline")).to_contain_text("reviewed: improved (attendance 100.0% against a target")
        page.locator("#close summary").click()
        close = page.locator("#close form")
        close.get_by_label("Outcome").select_option("improved")
        close.get_by_label("Why").fill("Full attendance for six weeks under the contract.")
        close.get_by_role("button", name="Close").click()
        expect(page.get_by_role("heading", name=pupil.full_name)).to_contain_text("Closed: Improved")
    with scope(school=school):
        case.refresh_from_db()
        assert case.status == "closed" and case.outcome == "improved"
        letter = Action.objects.get(case=case, kind="letter")
        assert letter.approved_by == officer
        assert CaseEvent.objects.filter(case=case, kind="context_review").count() == 2
        # The letters engine holds the stage-1 letter and the invitation, each approved by the officer.
        from letters.models import Letter

        kinds = set(Letter.objects.filter(case_ref=f"case:{case.pk}").values_list("kind", "approved_by"))
        assert {("stage_1", officer.pk), ("meeting_invitation", officer.pk)} <= kinds

    # The parent sees the letter and the meeting invitation in the portal.
    parent_sign_in(page, live_server, parent.username)
    page.goto(live_server.url + reverse("parent:child", args=[pupil.pk]))
    page.get_by_role("link", name="Letters and meetings from school").click()
    expect(page.locator(".documents")).to_contain_text("Attendance concern letter")
    expect(page.locator(".documents")).to_contain_text("Meeting invitation")
    expect(page.locator(".documents")).to_contain_text("Family room")
    shot(page, "parent-letters")
    sign_in(page, live_server, world.users["headteacher"])
    page.goto(live_server.url + reverse("interventions:ladder", args=[school.slug]))
    page.locator("#stage-2").get_by_label("Persistent absence (10%+)").check()  # any stage's entry conditions
    page.get_by_role("button", name="Preview on today's data").click()
    expect(page.get_by_role("heading", name="What this would do today (nothing is saved)")).to_be_visible()
    shot(page, "ladder-preview")
