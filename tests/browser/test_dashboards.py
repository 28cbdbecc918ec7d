"""Governors and trust officers in a real browser: the dashboard, the termly PDF, comparing schools and
drilling down; a governor of another school gets 404. Screenshots of each page at 1280 and 768 px go to
var/screenshots/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django_scopes import scopes_disabled

from attendance_portal.roles import Role
from reporting.models import GovernorReport
from reporting.tasks import governor_report_build
from tests.browser.test_foundation import _sign_in
from tests.reporting.test_dashboards import DFE_FILE, _populate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def data(world):
    from django.core.management import call_command

    from tests.conftest import add_calendar

    with scopes_disabled():
        add_calendar(world.school)
        add_calendar(world.sister)
        world.school.local_authority = "Tower Hamlets"
        world.school.save()
        _populate(world.school)
        _populate(world.sister, pupils=12, prefix="RB")
    call_command("import_dfe_attendance", str(DFE_FILE))
    return world


def _shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


@time_machine.travel(dt.datetime(2025, 12, 1, 12, tzinfo=dt.UTC), tick=True)
def test_a_governor_reads_the_dashboard_and_downloads_the_termly_pdf(page, live_server, data):
    _sign_in(page, live_server, data.users[Role.GOVERNOR.value].username)
    page.goto(f"{live_server.url}/s/{data.school.slug}/")
    page.click("text=Governors' dashboard >> nth=0")
    assert page.locator("h1").inner_text() == "Attendance for governors: Alder Primary"
    charts = page.locator("figure.chart img.chart-image")
    assert charts.count() == 4
    # Each chart's SVG was drawn by the browser (a broken image has no natural width).
    assert all(charts.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(4))
    page.check("input[value=this_term]")
    page.click("button:has-text('Show')")
    assert "Autumn term 2025 so far" in page.inner_text("main")
    page.click("summary:has-text('How are these calculated?')")
    assert "possible sessions" in page.inner_text("details.how")
    _shots(page, "governors-dashboard")
    page.click("text=Termly reports (PDF)")
    page.check("input[value=this_term]")
    page.click("button:has-text('Make the report')")
    with scopes_disabled():
        report = GovernorReport.objects.get(school=data.school)
    governor_report_build.apply(kwargs={"school_id": data.school.pk, "report_id": report.pk}).get()
    page.goto(f"{live_server.url}/s/{data.school.slug}/governors/reports/")
    _shots(page, "governors-reports")
    with page.expect_download() as download:
        page.click("text=Download PDF")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


@time_machine.travel(dt.datetime(2025, 12, 1, 12, tzinfo=dt.UTC), tick=True)
def test_a_trust_officer_compares_schools_and_drills_down(page, live_server, data):
    _sign_in(page, live_server, data.trust_officer.username)
    page.goto(f"{live_server.url}/t/{data.trust_a.slug}/")
    page.click("text=Compare schools and groups of pupils")
    table = page.locator("table.dash").first
    assert "Alder Primary" in table.inner_text() and "Birch Primary" in table.inner_text()
    page.select_option("select[name=sort]", "attendance")
    page.click("button:has-text('Sort')")
    _shots(page, "trust-dashboard")
    page.click("table.dash >> text=Alder Primary")
    assert page.locator("h1").inner_text() == "Alder Primary"
    _shots(page, "trust-school")
    page.click("table.dash >> text=Year 3")
    assert "Alder Primary: Year 3" in page.locator("h1").inner_text()
    assert "Free school meals" in page.inner_text("main")
    _shots(page, "trust-year-group")


def test_a_governor_of_another_school_gets_404(page, live_server, data):
    _sign_in(page, live_server, data.users[Role.GOVERNOR.value].username)
    response = page.goto(f"{live_server.url}/s/{data.other.slug}/governors/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/t/{data.trust_b.slug}/dashboard/")
    assert response.status == 404


@time_machine.travel(dt.datetime(2025, 12, 1, 12, tzinfo=dt.UTC), tick=True)
def test_the_headteacher_checks_and_downloads_the_census_return(page, live_server, data):
    from tests.reporting.helpers import enrol, record, school_sessions

    with scopes_disabled():
        record(enrol(data.school, upn="Z999999999999"), school_sessions(data.school, dt.date(2025, 9, 3), count=4), "X")
    _sign_in(page, live_server, data.users[Role.HEADTEACHER.value].username)
    page.goto(f"{live_server.url}/s/{data.school.slug}/")
    page.click("nav >> text=Census return")
    page.check("input[value=autumn]")
    page.fill("input[name=year]", "2025")
    page.click("button:has-text('Check the return')")
    checks = page.inner_text("section:has(h2#checks)")
    assert "Validation queries (1)" in checks and "Z999999999999 has no possible sessions" in checks
    _shots(page, "census-return")
    with page.expect_download() as download:
        page.click("text=Download the return (CSV)")
    text = Path(download.value.path()).read_text()
    assert text.startswith("period,upn,possible_sessions") and "Z999999999999" not in text
