"""The headteacher's access log in a real browser: opening a pupil's details is logged and can be found."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from attendance_portal.roles import Role
from tests import factories as f
from tests.browser.test_foundation import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_head_opens_a_pupil_then_finds_it_in_the_access_log(page: Page, live_server, world):
    pupil = f.EnrolmentFactory(pupil__school=world.school, pupil__forename="Ada", pupil__surname="Lovelace").pupil
    f.EnrolmentFactory(pupil__school=world.school, pupil__forename="Ben", pupil__surname="Okri")
    head = world.users[Role.HEADTEACHER.value]
    _sign_in(page, live_server, head.username)
    page.goto(live_server.url + reverse("registers:pupil", args=[world.school.slug, pupil.pk]))
    expect(page.get_by_role("heading", name="Cohort characteristics")).to_be_visible()
    page.goto(live_server.url + reverse("school_home", args=[world.school.slug]))
    page.get_by_role("link", name="Access log").click()
    expect(page.get_by_role("heading", name="Access log", level=1)).to_be_visible()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lovelace, Ada")
    expect(rows.first).to_contain_text("Sensitive details")
    page.get_by_label("Pupil (name or UPN)").fill("Okri")
    page.keyboard.press("Enter")
    expect(page.get_by_text("No entries match.")).to_be_visible()
