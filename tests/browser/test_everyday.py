"""The register on a tablet and a phone, and the new aged-N and history pages, in a real browser (issue 16).

Screenshots of the new pages go to $SCREENSHOTS (when set) at 1280 and 768 pixels wide, to be looked at.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import time_machine
from django_scopes import scope
from playwright.sync_api import Page

from registers.services import MarkEntry, marks_save
from tests.registers.conftest import MONDAY, make_class

from .test_registers import register_url, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
# A code's label is clipped when its text is wider than the box that shows it (the arrow takes ~28px).
CLIPPED_LABELS = """() => {
  const ctx = document.createElement("canvas").getContext("2d");
  const out = [];
  for (const s of document.querySelectorAll("select.code")) {
    const style = getComputedStyle(s);
    ctx.font = style.font;
    const text = s.options[s.selectedIndex].text;
    if (ctx.measureText(text).width > s.clientWidth - 28) { out.push(text); }
  }
  for (const a of document.querySelectorAll(".row-msg a")) {
    const r = a.getBoundingClientRect();
    if (r.right > window.innerWidth || r.left < 0) { out.push(a.textContent); }
  }
  return out;
}"""


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", [768, 390])
def test_register_fits_tablet_and_phone_widths(page: Page, live_server, world, width):
    group, pupils = make_class(world.school, 5)
    with scope(school=world.school):
        marks_save(school=world.school, by=world.users["office_staff"],
                   entries=[MarkEntry(pupils[0].pk, MONDAY, "AM", "/")])
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, world.users["office_staff"])
    page.goto(register_url(live_server, world.school, group))
    # The longest labels the office sees, and the usual one.
    for p, code in zip(pupils[1:], ("C1", "D", "Y4", "/"), strict=True):
        page.locator(f"#code_{p.pk}").select_option(code)
    shoot(page, f"register-{width}")
    assert page.evaluate(OVERFLOW), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert page.evaluate(CLIPPED_LABELS) == []


def test_aged_n_and_history_pages_render_at_desktop_and_tablet(page: Page, live_server, world):
    _group, pupils = make_class(world.school, 3)
    days = [MONDAY + dt.timedelta(days=n) for n in range(4)]
    with scope(school=world.school):
        marks_save(school=world.school, by=None, entries=[
            MarkEntry(p.pk, d, s, "N") for p in pupils[:2] for d in days for s in ("AM", "PM")])
        marks_save(school=world.school, by=None, entries=[
            MarkEntry(pupils[2].pk, d, s, "/" if s == "AM" else "\\") for d in days for s in ("AM", "PM")])
        marks_save(school=world.school, by=world.users["office_staff"], reason="Mother phoned", entries=[
            MarkEntry(pupils[2].pk, days[1], "PM", "I", expected_version=1)])
    sign_in(page, live_server, world.users["office_staff"])
    with time_machine.travel(dt.datetime(2025, 9, 29, 10, tzinfo=dt.UTC), tick=True):
        for width in (1280, 768):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}/s/{world.school.slug}/absence/aged/")
            assert page.locator(".aged-table tbody tr").count() == 2
            assert page.evaluate(OVERFLOW)
            shoot(page, f"aged-{width}")
            page.goto(f"{live_server.url}/s/{world.school.slug}/registers/pupil/{pupils[2].pk}/history/")
            assert page.locator(".year-grid tbody tr").count() == 12
            assert page.evaluate(OVERFLOW)
            shoot(page, f"history-{width}")
