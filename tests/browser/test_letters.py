"""Letters in a real browser: a batch of stage-1 letters from pick to print file, and the template editor.

A Celery worker runs in-process on a queue of the test's own, so the letters are made and sent by the real
task while the page polls the batch's progress.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from attendance_portal.celery import app
from letters.defaults import templates_install_defaults
from letters.models import Letter, Letterhead
from tests.browser.test_absence_office import sign_in
from tests.conftest import add_calendar
from tests.letters.conftest import absences, make_family

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NOW = dt.datetime(2025, 9, 30, 11, 0, tzinfo=dt.UTC)
SHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"letters-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def school(world):
    with scopes_disabled():
        add_calendar(world.school)
        Letterhead.objects.create(school=world.school, address="1 School Road\nKettering\nNN16 8AA",
                                  attendance_lead="Mrs Patel", phone="01536 000000", email="office@alder.example")
        templates_install_defaults(school=world.school)
    return world.school


@pytest.fixture
def letters_queue(settings):
    """A queue of the test's own; the in-process worker's choice of queues is put back afterwards,
    since a worker started in this process selects its queues on the shared Celery app."""
    settings.LETTERS_QUEUE = f"letters-browser-{uuid.uuid4().hex[:8]}"
    yield settings.LETTERS_QUEUE
    app.amqp.queues.select([app.conf.task_default_queue])


def test_a_batch_of_stage_1_letters_from_pick_to_print_file(page: Page, live_server, world, school, settings,
                                                            letters_queue):
    sac = world.users["senior_attendance_champion"]
    with scopes_disabled():
        families = [make_family(school, i) for i in range(3)]
        for i, fam in enumerate(families):
            absences(fam.pupil, [dt.date(2025, 9, 10), dt.date(2025, 9, 15 + i)])
        # The first family's parent has no e-mail address: that letter goes by post.
        families[0].parents[0].email = ""
        families[0].parents[0].save()
        other = make_family(world.sister, 9)
    with time_machine.travel(NOW, tick=True), \
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20,
                         queues=[settings.LETTERS_QUEUE]):
        sign_in(page, live_server, sac)
        page.goto(live_server.url + reverse("letters:batch_new", args=[school.slug]) + "?kind=stage_1")
        for fam in families:
            expect(page.locator(f"#pick-{fam.pupil.pk}")).to_be_checked()
        shoot(page, "pick")
        page.get_by_role("button", name="Review the letters").click()
        expect(page.get_by_role("heading", name="Ready to send (3)")).to_be_visible()
        shoot(page, "review")
        page.get_by_role("button", name="Approve and send").click()
        expect(page.locator("#progress-text")).to_contain_text("of 3 letters made and sent")
        expect(page.locator("#progress-text")).to_contain_text("Done.", timeout=60_000)
        expect(page.locator("#print-file")).to_contain_text("Print file: 1 letter in envelope order")
        shoot(page, "batch")
        printed = page.request.get(live_server.url + page.locator("#print-file").get_attribute("href"))
        assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
        text = pdf_text(printed.body())
        assert "Amira0" in text and "Parent0 Okafor0" in text and "Amira1" not in text and "Amira2" not in text

        # Each letter is on the pupil's page, with the sessions behind it.
        page.goto(live_server.url + reverse("absence:pupil", args=[school.slug, families[1].pupil.pk]))
        expect(page.locator("#pupil-letters")).to_contain_text("Stage 1")
        page.locator("#pupil-letters a").first.click()
        expect(page.locator("body")).to_contain_text("Wed 10 Sep 2025")
        expect(page.locator("body")).to_contain_text("E-mail")
        shoot(page, "letter")
        page.goto(live_server.url + reverse("letters:log", args=[school.slug]))
        expect(page.locator("#letters tbody tr")).to_have_count(3)
        shoot(page, "log")

    # Two e-mails with the PDF attached; the third family had no address.
    assert sorted(m.to[0] for m in mail.outbox) == ["parent1-0@example.org", "parent2-0@example.org"]
    for message in mail.outbox:
        [(name, content, kind)] = message.attachments
        assert kind == "application/pdf" and "Amira" in pdf_text(content) and name.endswith(".pdf")

    # Each parent sees their own letter in the portal; another family's is a 404.
    with scope(school=school):
        letters = {letter.pupil_id: letter for letter in Letter.objects.filter(school=school)}
    for fam in families:
        page.context.clear_cookies()
        sign_in(page, live_server, fam.users[0])
        page.goto(live_server.url + reverse("parent:child", args=[fam.pupil.pk]))
        link = page.locator("#letters a")
        expect(link).to_have_count(1)
        own = page.request.get(live_server.url + link.get_attribute("href"))
        assert own.status == 200 and fam.pupil.forename in pdf_text(own.body())
        for theirs in families:
            if theirs is not fam:
                url = live_server.url + reverse("parent_letters:pdf", args=[letters[theirs.pupil.pk].pk])
                assert page.request.get(url).status == 404
    shoot(page, "parent")
    assert other.pupil.pk not in letters


def test_template_editor_previews_a_real_pupil_and_refuses_unknown_fields(page: Page, live_server, world, school):
    sac = world.users["senior_attendance_champion"]
    with scopes_disabled():
        fam = make_family(school, 4)
        absences(fam.pupil, [dt.date(2025, 9, 10)])
    with time_machine.travel(NOW, tick=True):
        sign_in(page, live_server, sac)
        page.goto(live_server.url + reverse("letters:templates", args=[school.slug]))
        shoot(page, "templates")
        page.locator("#templates tr", has_text="Stage 1: first concern").get_by_role("link", name="Edit").click()
        page.wait_for_load_state("load")  # htmx has taken the form over: a change before that sends nothing
        page.get_by_label("Preview for").select_option(str(fam.pupil.pk))
        frame = page.locator(".letter-preview")
        expect(frame).to_contain_text("Parent0 Okafor4", timeout=15_000)
        expect(frame).to_contain_text("Amira4 has missed more school")
        expect(frame).to_contain_text("Wed 10 Sep 2025")
        page.locator("#id_body").fill("Dear {{ parent.name }}, we will meet on {{ meeting.date }}.")
        expect(page.locator("#preview-warnings")).to_contain_text("meeting.date")
        shoot(page, "editor")
        page.locator("#id_body").fill("Hello {{ pupil.__class__ }}")
        expect(page.locator("#preview-errors")).to_contain_text("is not a merge field")
        page.get_by_role("button", name="Save as a new version").click()
        expect(page.locator("#save-errors")).to_contain_text("'__class__' is not a merge field")
        page.locator("#id_body").fill("Thank you, {{ parent.name }}.")
        page.get_by_role("button", name="Save as a new version").click()
        expect(page.locator(".messages")).to_contain_text("Saved as version 2")
