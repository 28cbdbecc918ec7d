"""Signing in, the per-role home page and the school switcher in a real browser."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from attendance_portal.models import User
from attendance_portal.roles import Role
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, username: str) -> None:
    device = _authenticator(User.objects.get(username=username))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct-horse-battery")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # keyboard only
    page.wait_for_load_state()
    if "/accounts/mfa/" in page.url:  # two-step sign-in: the code from the person's authenticator
        from django_otp.oath import totp

        page.fill("#id_code", f"{totp(device.bin_key):06d}")
        with page.expect_navigation():
            page.keyboard.press("Enter")


def _authenticator(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="phone", confirmed=True)


def test_sign_in_by_keyboard_and_switch_school(page, live_server, world):
    head = world.users[Role.HEADTEACHER.value]
    with scopes_disabled():
        f.MembershipFactory(user=head, school=world.sister, role=Role.GOVERNOR)
    _sign_in(page, live_server, head.username)
    assert "Where do you want to work?" in page.content()
    page.click(".tiles >> text=Alder Primary")
    assert page.locator("h1").inner_text() == "Alder Primary"
    page.select_option("#switch-to", "school:birch")
    page.wait_for_url(f"{live_server.url}/s/birch/")
    assert page.locator("h1").inner_text() == "Birch Primary"
    assert "Dashboards" in page.content()  # governor there


def test_wrong_password_and_another_schools_page(page, live_server, world):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "office_staff@alder")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "didn't match" in page.inner_text("main")
    _sign_in(page, live_server, "office_staff@alder")
    response = page.goto(f"{live_server.url}/s/{world.other.slug}/")
    assert response.status == 404
