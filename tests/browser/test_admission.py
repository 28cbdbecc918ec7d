"""The admission register in a real browser: add a pupil, then record them leaving."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scope
from playwright.sync_api import Page, expect

from registers.models import Enrolment, Pupil
from registers.upn import upn_make
from tests import factories as f
from tests.browser.test_casework import shot
from tests.conftest import signed_in_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, live_server, user) -> None:
    client = signed_in_client(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_add_a_pupil_then_record_them_leaving(page: Page, live_server, world):
    f.RegistrationGroupFactory(school=world.school, name="4R", year_group="4")
    upn = upn_make(886, 4100, 25, 777)
    sign_in(page, live_server, world.users["office_staff"])
    page.goto(live_server.url + reverse("school_home", kwargs={"school_slug": world.school.slug}))
    page.get_by_role("link", name="Admission register").first.click()
    expect(page.get_by_role("heading", name="Admission register")).to_be_visible()
    page.get_by_role("link", name="Add a pupil").click()

    page.get_by_label("UPN", exact=True).fill(upn)
    page.get_by_label("Forename").fill("Rosalind")
    page.get_by_label("Surname").fill("Franklin")
    page.get_by_label("Date of birth").fill("2016-07-25")
    page.get_by_label("Year group").select_option("4")
    page.get_by_label("Registration group").select_option(label="4R")
    page.get_by_label("Admission date").fill("2025-09-03")
    page.get_by_role("button", name="Add pupil").click()

    expect(page.get_by_role("heading", name="Rosalind Franklin")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("added to the admission register from 03 September 2025")
    page.get_by_role("link", name="Record leaving").click()
    page.get_by_label("Leaving date").fill("2025-12-19")
    page.get_by_label("Ground for deletion").select_option("other_school")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Confirm: Rosalind Franklin leaves the register")).to_be_visible()
    expect(page.locator(".reminders")).to_contain_text("deletion return to the local authority")
    page.get_by_role("button", name="Confirm leaving").click()
    expect(page.locator(".messages")).to_contain_text("removed from the register from 19 December 2025")

    with scope(school=world.school):
        pupil = Pupil.objects.get(school=world.school, upn=upn)
        entry = Enrolment.objects.get(pupil=pupil)
    assert (entry.admission_date, entry.leaving_date, entry.deletion_ground) == (
        dt.date(2025, 9, 3), dt.date(2025, 12, 19), "other_school")
    # The list now shows the pupil among those who have left.
    page.goto(live_server.url + reverse("registers:admission", kwargs={"school_slug": world.school.slug}))
    page.get_by_label("Show").select_option("left")
    expect(page.locator("#register-table")).to_contain_text("Franklin, Rosalind")


def test_add_a_contact_with_a_postal_address(page: Page, live_server, world):
    pupil = f.EnrolmentFactory(pupil__school=world.school, pupil__forename="Ada", pupil__surname="Lovelace").pupil
    sign_in(page, live_server, world.users["office_staff"])
    page.goto(live_server.url + reverse("registers:contact_add", args=[world.school.slug, pupil.pk]))
    page.get_by_label("Forename").fill("Anne")
    page.get_by_label("Surname").fill("Byron")
    page.get_by_label("Relationship").fill("Mother")
    page.get_by_label("Phone").fill("01632 960123")
    page.get_by_label("Postal address").fill("12 Mill Lane\nTowncester")
    page.get_by_label("Postcode").fill("rb1")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator(".error")).to_contain_text("Give a UK postcode, for example RB1 4DX.")
    shot(page, "contact-bad-postcode")
    page.get_by_label("Postcode").fill("rb14dx")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator("body")).to_contain_text("12 Mill Lane, Towncester, RB1 4DX")
    shot(page, "pupil-contact-address")
