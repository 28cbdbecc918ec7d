"""Staff management in a real browser: the head invites a teacher, who accepts, sets a password and finds
their own group's register; deactivating them signs them out at once."""

from __future__ import annotations

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from playwright.sync_api import Page, expect

from tests.registers.conftest import MONDAY, make_class

from .test_everyday import shoot
from .test_registers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LONDON = ZoneInfo("Europe/London")


def test_invitation_acceptance_own_register_then_deactivation(page: Page, live_server, world, browser):
    _group, pupils = make_class(world.school, 3, name="5B")
    make_class(world.school, 2, name="5C", calendar=False)
    with time_machine.travel(dt.datetime.combine(MONDAY, dt.time(8, 50), tzinfo=LONDON), tick=True):
        sign_in(page, live_server, world.users["headteacher"])
        page.goto(f"{live_server.url}/s/{world.school.slug}/staff/")
        page.get_by_label("E-mail address").fill("sam.newton@example.org")
        page.get_by_label("First name").fill("Sam")
        page.get_by_label("Last name").fill("Newton")
        page.get_by_label("Job title").fill("Year 5 teacher")
        page.locator("#invite").get_by_label("Class teacher").check()
        page.locator("#invite").get_by_label("5B").check()
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator(".messages")).to_contain_text("Invitation sent to sam.newton@example.org")
        expect(page.locator("#invitations")).to_contain_text("sam.newton@example.org")
        expect(page.locator("#staff-changes")).to_contain_text("Invited Sam Newton")
        if os.environ.get("SCREENSHOTS"):
            for width in (1280, 768):
                page.set_viewport_size({"width": width, "height": 900})
                shoot(page, f"staff-{width}")
        link = re.search(r"https?://\S+/staff/accept/\S+/", mail.outbox[-1].body).group(0)

        teacher_context = browser.new_context()
        teacher = teacher_context.new_page()
        teacher.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), live_server.url))
        expect(teacher.locator("h1")).to_contain_text("Welcome, Sam")
        shoot(teacher, "staff-accept-1280")
        teacher.get_by_label("New password", exact=True).fill("short")
        teacher.get_by_label("New password again").fill("short")
        teacher.get_by_role("button", name="Set password and sign in").click()
        expect(teacher.locator(".errorlist")).to_contain_text("too short")
        teacher.get_by_label("New password", exact=True).fill("kestrel-orchard-51")
        teacher.get_by_label("New password again").fill("kestrel-orchard-51")
        teacher.get_by_role("button", name="Set password and sign in").click()
        expect(teacher.locator("#my-groups")).to_contain_text("5B")
        expect(teacher.locator("#my-groups")).not_to_contain_text("5C")
        teacher.locator("#my-groups").get_by_role("link", name="morning register").click()
        expect(teacher.locator("h1")).to_contain_text("5B")
        expect(teacher.locator("table.register-table")).to_contain_text(pupils[0].surname)

        page.goto(f"{live_server.url}/s/{world.school.slug}/staff/")
        page.get_by_role("link", name="Sam Newton").click()
        if os.environ.get("SCREENSHOTS"):
            for width in (1280, 768):
                page.set_viewport_size({"width": width, "height": 900})
                shoot(page, f"staff-member-{width}")
            page.goto(f"{live_server.url}/s/{world.school.slug}/staff/codes/")
            shoot(page, "staff-codes-768")
            page.go_back()
        page.get_by_role("button", name="Deactivate Sam Newton").click()
        expect(page.locator(".messages")).to_contain_text("signed out everywhere")
        teacher.reload()
        expect(teacher).to_have_url(re.compile(r"/accounts/login/"))
        teacher_context.close()
