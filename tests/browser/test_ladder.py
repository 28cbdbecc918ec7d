"""The headteacher changes a later stage of the ladder in a real browser: previews what it would do to
today's data (nothing saved), then saves it as a new ladder from today."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import Page, expect

from interventions.models import Ladder
from tests.absence.conftest import at
from tests.browser.test_casework import shot, sign_in
from tests.conftest import add_calendar
from tests.interventions.conftest import absent_pupil, ladder_for_tests, letters_ready, run_night, sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = dt.date(2025, 10, 27)


def test_head_previews_and_saves_a_change_to_a_later_stage(page: Page, live_server, world):
    school = world.school
    with scopes_disabled():
        add_calendar(school)
        ladder_for_tests(school)
        letters_ready(school)
    absent_pupil(school, upn="A00000000001A", year_group="4")  # severe: opened at stage 1 tonight
    absent_pupil(school, upn="A00000000002A", codes="." * 34 + "G" * 6, year_group="5")  # persistent
    run_night(school)
    sync(school)
    absent_pupil(school, upn="A00000000003A", codes="." * 32 + "G" * 8, year_group="5")  # found after the sync
    run_night(school)

    with time_machine.travel(at(TODAY, 9, 0), tick=True):
        sign_in(page, live_server, world.users["headteacher"])
        page.goto(live_server.url + reverse("interventions:ladder", args=[school.slug]))
        expect(page.get_by_role("heading", name="Change the ladder")).to_be_visible()
        second = page.locator("#stage-2")
        expect(second.get_by_label("Name of the stage")).to_have_value("Facilitate support")
        second.get_by_label("Severe absence (50%+)").check()
        second.get_by_label("Letter", exact=True).fill("Letter 2: we are worried")
        second.get_by_label("Headteacher").check()
        second.get_by_label("Propose moving on after (school weeks without improvement)").fill("3")
        shot(page, "ladder-edit")
        page.get_by_role("button", name="Preview on today's data").click()

        preview = page.locator("section.preview")
        expect(preview.get_by_role("heading", name="What this would do today (nothing is saved)")).to_be_visible()
        expect(preview).to_contain_text("1 case would open, 1 open case would be proposed to move on")
        def year(group: str):  # the preview's row of a year group
            return preview.locator("tr", has=page.get_by_role("rowheader", name=group, exact=True))

        expect(year("4")).to_contain_text("1 × Letter 2: we are worried")
        expect(year("5")).to_contain_text("1 × Attendance concern letter")
        expect(page.locator("#stage-2").get_by_label("Letter", exact=True)).to_have_value("Letter 2: we are worried")
        shot(page, "ladder-edit-preview")
        with scopes_disabled():
            assert Ladder.objects.filter(school=school).count() == 1

        page.get_by_role("button", name="Save the change").click()
        expect(page.locator(".messages")).to_contain_text("Ladder saved, in force from 27 October 2025")
        expect(page.get_by_role("row", name="2 Facilitate support")).to_contain_text("Letter: Letter 2: we are worried")
        expect(page.get_by_role("row", name="2 Facilitate support")).to_contain_text("headteacher")
        with scopes_disabled():
            assert Ladder.objects.filter(school=school).count() == 2
