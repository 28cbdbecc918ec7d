"""Two-step sign-in in a real browser: set-up at first sign-in, then a code at the next sign-in.

With SCREENSHOTS=<dir> set, the set-up, recovery-code and code pages are saved at 1280 and 768 px.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import time_machine
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from attendance_portal.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shots(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _password(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct-horse-battery")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_set_up_at_first_sign_in_then_a_code_every_time(page: Page, live_server, world):
    head = world.users[Role.HEADTEACHER.value]
    start = dt.datetime.now(tz=dt.UTC)
    with time_machine.travel(start, tick=True):
        _password(page, live_server, head.username)
        assert page.locator("h1").inner_text() == "Set up two-step sign-in"
        assert page.locator(".qr svg").count() == 1
        _shots(page, "mfa-setup")
        device = TOTPDevice.objects.get(user=head, confirmed=False)
        assert page.locator(".secret").inner_text().replace(" ", "")  # the key to type by hand
        page.fill("#id_code", f"{totp(device.bin_key):06d}")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Two-step sign-in is on"
        assert page.locator(".recovery-codes li").count() == 10
        _shots(page, "mfa-recovery-codes")
        page.get_by_role("link", name="I have kept my codes: continue").click()
        assert page.locator("h1").inner_text() == "Alder Primary"
        page.get_by_role("button", name="Sign out").click()
    with time_machine.travel(start + dt.timedelta(seconds=40), tick=True):
        _password(page, live_server, head.username)
        assert page.locator("h1").inner_text() == "Enter your sign-in code"
        page.fill("#id_code", "000000")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "not right" in page.inner_text("main")
        _shots(page, "mfa-verify")
    with time_machine.travel(start + dt.timedelta(seconds=75), tick=True):
        device.refresh_from_db()
        page.fill("#id_code", f"{totp(device.bin_key):06d}")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Alder Primary"
        page.goto(f"{live_server.url}/s/{world.school.slug}/accounts/two-step/")
        assert page.locator("h1").inner_text() == "Two-step sign-in for staff"
        _shots(page, "mfa-staff")


def test_parent_accepts_an_invitation_by_creating_an_account(page: Page, live_server, world):
    from django_scopes import scopes_disabled

    from accounts.services import invitation_create
    from accounts.tokens import token_for
    from tests import factories as f

    with scopes_disabled():
        pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
        guardian = f.PupilContactFactory(pupil=pupil, guardian__email="carer@example.org").guardian
        invitation = invitation_create(kind="parent", email=guardian.email, by=world.users["office_staff"],
                                       school=world.school, guardian=guardian)
    page.goto(f"{live_server.url}/accounts/invitations/{token_for(invitation.nonce)}/")
    assert page.url.endswith("/accounts/invitations/accept/")  # the token left the address bar
    assert "Parent portal for Alder Primary" in page.inner_text("h1")
    _shots(page, "invitation")
    page.fill("#id_password1", "a-long-Secret-99")
    page.fill("#id_password2", "a-long-Secret-99")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_username", "carer@example.org")
    page.fill("#id_password", "a-long-Secret-99")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert pupil.forename in page.inner_text("main")
