"""Registers in a real browser: keyboard marking, late arrivals, amendments, conflicts, another school's URL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Page, expect

from registers.models import Mark
from registers.services import MarkEntry, marks_save
from tests import factories as f
from tests.conftest import signed_in_client
from tests.registers.conftest import MONDAY, make_class

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, live_server, user) -> None:
    client = signed_in_client(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


@pytest.fixture
def setup(world):
    group, pupils = make_class(world.school, 5)
    return world, group, pupils


def register_url(live_server, school, group, day=MONDAY, session="AM"):
    return live_server.url + reverse("registers:register", kwargs={
        "school_slug": school.slug, "group_id": group.pk, "date": day, "session": session})


def codes(school):
    with scope(school=school):
        return {m.pupil_id: (m.code, m.minutes_late) for m in Mark.objects.filter(school=school)}


def test_mark_a_full_register_by_keyboard(page: Page, live_server, setup):
    world, group, pupils = setup
    sign_in(page, live_server, world.users["class_teacher"])
    page.goto(register_url(live_server, world.school, group))
    first = page.locator(f"#code_{pupils[0].pk}")
    expect(first).to_be_focused()
    page.keyboard.press("/")
    expect(page.locator(f"#code_{pupils[1].pk}")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press(".")  # present shortcut
    page.keyboard.press("l")  # late: the minutes box is next, then Enter goes on to the next pupil
    expect(page.locator(f"#minutes_{pupils[2].pk}")).to_be_focused()
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    page.keyboard.press("n")
    page.keyboard.press("Enter")  # present for the last pupil; focus moves to Save
    expect(page.locator("#save-register")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#register-notice")).to_contain_text("Register saved: 5 marks")
    expect(page.locator("#register .progress")).to_contain_text("Complete")
    assert {pid: c for pid, (c, _) in codes(world.school).items()} == {
        pupils[0].pk: "/", pupils[1].pk: "/", pupils[2].pk: "L", pupils[3].pk: "N", pupils[4].pk: "/"}


def test_a_saved_register_can_be_corrected_and_saved_again_without_reloading(page: Page, live_server, setup):
    """After a save the page keeps its rows and takes the new versions, so a correction saved straight
    afterwards is an ordinary save, not a conflict with oneself."""
    world, group, pupils = setup
    sign_in(page, live_server, world.users["office_staff"])
    page.goto(register_url(live_server, world.school, group))
    for p in pupils[:4]:
        page.locator(f"#code_{p.pk}").select_option("/")
    page.locator("#reason").fill("not needed for new marks")
    page.get_by_role("button", name="Save register").click()
    expect(page.locator("#register-notice")).to_contain_text("Register saved: 4 marks")
    expect(page.locator("#register-notice")).to_be_focused()
    expect(page.locator("#register .progress")).to_contain_text("4 of 5 pupils")
    row = page.locator(f"#row-{pupils[0].pk}")
    expect(row).to_have_attribute("data-saved", "/")
    expect(row).not_to_have_class(re.compile(r"\bchanged\b"))
    expect(page.locator(f"#row-{pupils[4].pk}")).to_have_class(re.compile(r"\bunmarked\b"))
    expect(page.locator(f"#msg_{pupils[0].pk}")).to_contain_text("Amend")
    expect(page.locator("#reason")).to_have_value("")
    with scope(school=world.school):
        stored = Mark.objects.get(school=world.school, pupil=pupils[0])
    expect(page.locator(f"#version_{pupils[0].pk}")).to_have_value(str(stored.version))

    page.locator(f"#code_{pupils[0].pk}").select_option("N")
    page.locator(f"#code_{pupils[4].pk}").select_option("/")
    page.locator("#reason").fill("Marked present by mistake")
    page.get_by_role("button", name="Save register").click()
    expect(page.locator("#register-notice")).to_contain_text("Register saved: 2 marks")
    expect(page.locator("#register .progress")).to_contain_text("Complete")
    expect(page.locator(f"#msg_{pupils[0].pk}")).not_to_contain_text("someone else")
    assert codes(world.school)[pupils[0].pk] == ("N", None)
    assert codes(world.school)[pupils[4].pk] == ("/", None)


def test_mark_all_unmarked_present_then_save(page: Page, live_server, setup):
    world, group, pupils = setup
    sign_in(page, live_server, world.users["class_teacher"])
    page.goto(register_url(live_server, world.school, group, session="PM"))
    page.keyboard.press("n")
    page.get_by_role("button", name=re.compile("Mark all unmarked present")).click()
    expect(page.locator(f"#code_{pupils[4].pk}")).to_have_value("\\")
    page.get_by_role("button", name="Save register").click()
    expect(page.locator("#register-notice")).to_contain_text("complete")
    assert sorted(c for c, _ in codes(world.school).values()) == ["N", "\\", "\\", "\\", "\\"]


def test_a_save_the_service_cannot_take_keeps_the_marks_on_the_page_and_says_so(page: Page, live_server, setup):
    world, group, pupils = setup
    sign_in(page, live_server, world.users["class_teacher"])
    url = register_url(live_server, world.school, group, session="PM")
    page.goto(url)
    page.keyboard.press("n")
    page.get_by_role("button", name=re.compile("Mark all unmarked present")).click()

    def busy(route):  # the database restarting: the service answers 503 "try again"
        if route.request.method == "POST":
            route.fulfill(status=503, body="Try again in a moment", content_type="text/html")
        else:
            route.continue_()

    page.route(url, busy)
    page.get_by_role("button", name="Save register").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.locator(f"#code_{pupils[4].pk}")).to_have_value("\\")  # still there to save again
    assert codes(world.school) == {}
    page.unroute(url)
    page.get_by_role("button", name="Save register").click()
    expect(page.locator("#register-notice")).to_contain_text("complete")
    expect(page.locator("#js-problem")).to_have_count(0)
    assert len(codes(world.school)) == 5


def test_sign_in_late_arrivals_before_and_after_close(page: Page, live_server, setup):
    world, _group, pupils = setup
    sign_in(page, live_server, world.users["office_staff"])
    for pupil, time, expected in ((pupils[0], "08:55", "L for the AM register, 10 minutes late"),
                                  (pupils[1], "09:10", "U for the AM register, 25 minutes late")):
        page.goto(live_server.url + reverse("registers:late", args=[world.school.slug]))
        page.get_by_label("Pupil's name").fill(pupil.surname)
        page.get_by_role("button", name="Search").click()
        page.get_by_label(re.compile(pupil.surname)).check()
        page.get_by_label("Date").fill(MONDAY.isoformat())
        page.get_by_label("Arrival time").fill(time)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator(".messages")).to_contain_text(expected)
    assert codes(world.school) == {pupils[0].pk: ("L", 10), pupils[1].pk: ("U", 25)}


def test_amend_a_mark_with_a_reason_and_see_the_history(page: Page, live_server, setup):
    world, group, pupils = setup
    office = world.users["office_staff"]
    with scope(school=world.school):
        marks_save(school=world.school, by=world.users["class_teacher"],
                   entries=[MarkEntry(pupils[0].pk, MONDAY, "AM", "N")])
    sign_in(page, live_server, office)
    page.goto(register_url(live_server, world.school, group))
    page.locator(f"#row-{pupils[0].pk}").get_by_role("link", name="Amend").click()
    page.get_by_label("Code").select_option("I")
    page.get_by_label("Reason for the change").fill("Mother phoned at 09:20: flu")
    page.get_by_role("button", name="Save the change").click()
    # Back on the register the new code shows; the history keeps the original and the reason.
    expect(page.locator(f"#code_{pupils[0].pk}")).to_have_value("I")
    page.locator(f"#row-{pupils[0].pk}").get_by_role("link", name="History").click()
    row = page.locator("table.history-table tbody tr").first
    expect(row).to_contain_text("Amended")
    expect(row).to_contain_text("Mother phoned at 09:20: flu")
    expect(row).to_contain_text(f"{office.display_name()}, {office.position}")
    expect(row.locator("td").nth(2)).to_have_text("N")


def test_conflict_on_concurrent_edit(page: Page, live_server, setup, browser):
    world, group, pupils = setup
    sign_in(page, live_server, world.users["office_staff"])
    other_context = browser.new_context()
    other = other_context.new_page()
    sign_in(other, live_server, world.users["headteacher"])
    url = register_url(live_server, world.school, group)
    page.goto(url)
    other.goto(url)
    page.locator(f"#code_{pupils[0].pk}").select_option("/")
    page.get_by_role("button", name="Save register").click()
    expect(page.locator("#register-notice")).to_contain_text("Register saved: 1 mark")
    other.locator(f"#code_{pupils[0].pk}").select_option("N")
    other.locator(f"#code_{pupils[1].pk}").select_option("/")
    other.get_by_role("button", name="Save register").click()
    expect(other.locator(f"#msg_{pupils[0].pk}")).to_contain_text("someone else changed this")
    expect(other.locator(f"#msg_{pupils[0].pk}")).to_contain_text("It is now /")
    expect(other.locator(f"#code_{pupils[0].pk}")).to_have_value("/")
    assert codes(world.school) == {pupils[0].pk: ("/", None), pupils[1].pk: ("/", None)}
    other_context.close()


def test_another_schools_register_url_is_404(page: Page, live_server, setup):
    world, _group, _pupils = setup
    with scopes_disabled():
        theirs = f.RegistrationGroupFactory(school=world.other)
    sign_in(page, live_server, world.users["headteacher"])
    for slug, group_id in ((world.other.slug, theirs.pk), (world.school.slug, theirs.pk)):
        response = page.goto(live_server.url + reverse("registers:register", kwargs={
            "school_slug": slug, "group_id": group_id, "date": dt.date(2025, 9, 8), "session": "AM"}))
        assert response is not None
        assert response.status == 404
