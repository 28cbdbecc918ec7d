"""The Content-Security-Policy in chromium: the check that fails browser tests works, and Swagger UI runs
under the policy from our own static files."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from attendance_portal.roles import Role
from tests.browser.test_foundation import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_browser_check_catches_inline_script_and_style(page: Page, live_server, csp_violations):
    page.goto(live_server.url + reverse("login"))
    assert csp_violations.take() == []
    page.evaluate("""() => {
        document.body.setAttribute("style", "background: red");
        const s = document.createElement("script");
        s.textContent = "window.injected = true";
        document.body.appendChild(s);
    }""")
    found = csp_violations.take()  # taken, so this test itself does not fail
    assert any("style-src" in v for v in found), found
    assert any("script-src" in v for v in found), found
    assert page.evaluate("window.injected") is None  # the browser refused to run it


def test_api_docs_render_under_the_policy(page: Page, live_server, world):
    user = world.users[Role.HEADTEACHER.value]
    _sign_in(page, live_server, user.username)
    page.goto(live_server.url + reverse("api-docs"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Attendance portal API", timeout=15000)
    expect(page.locator(".opblock").first).to_be_visible()


def test_the_place_switcher_works_without_inline_script(page: Page, live_server, world):
    from django_scopes import scopes_disabled

    from tests import factories as f

    head = world.users[Role.HEADTEACHER.value]
    with scopes_disabled():
        f.MembershipFactory(user=head, school=world.sister, role=Role.GOVERNOR)
    _sign_in(page, live_server, head.username)
    page.goto(live_server.url + reverse("school_home", args=[world.school.slug]))
    page.select_option("#switch-to", "school:birch")
    page.wait_for_url(live_server.url + reverse("school_home", args=["birch"]))
