"""The penalty-notice path in a real browser: the threshold is reached, the officer records the consideration
and gives a notice to improve, the daily check finds no improvement, the officer prepares the referral, the
headteacher authorises it and submits it with the pack checked, the pack is built, the local authority's
officer accepts it, issues the notice, records the payment, and the school's case is closed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import Page, expect

from interventions.models import Case
from penalties import tasks
from penalties.models import EvidencePack, LAOfficer, LocalAuthority, PenaltyNotice
from tests import factories as f
from tests.absence.conftest import at
from tests.browser.test_casework import shot, sign_in
from tests.conftest import add_calendar
from tests.interventions.conftest import absent_pupil, ladder_for_tests, letters_ready, open_case, run_night, sync
from tests.reporting.helpers import record, school_sessions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NIGHT = dt.date(2025, 10, 24)
CHECK_DAY = dt.date(2025, 11, 5)


def test_threshold_to_notice_paid_and_case_closed(page: Page, live_server, world):
    school = world.school
    officer, head = world.users["attendance_officer"], world.users["headteacher"]
    with scopes_disabled():
        add_calendar(school)
        ladder_for_tests(school)
        letters_ready(school)
        enrolment = absent_pupil(school, upn="J936200120001", forename="Robin", surname="Ashby")
        essex = LocalAuthority.objects.create(code="essex", name="Essex")
        la_officer = f.UserFactory(username="pn@essex", first_name="Pat", last_name="Nolan")
        LAOfficer.objects.create(local_authority=essex, user=la_officer, role=LAOfficer.Role.PENALTY)
    run_night(school, NIGHT)
    sync(school, NIGHT)
    case = open_case(school, enrolment)
    case_url = live_server.url + reverse("penalties:case", args=[school.slug, case.pk])

    with time_machine.travel(at(NIGHT, 14, 0), tick=True):
        sign_in(page, live_server, officer)
        page.goto(live_server.url + reverse("interventions:case", args=[school.slug, case.pk]))
        page.get_by_role("link", name="Penalty notice: consideration, notice to improve, referral").click()
        expect(page.locator(".notice-warn").first).to_contain_text("The national threshold was met")
        shot(page, "consider")
        form = page.locator("form[action$='/consider/']")
        form.get_by_label("Notice to improve", exact=True).check()
        form.get_by_label("Support so far").select_option("not_engaged")
        form.get_by_label("Would another step change").fill("A contract was agreed in September and not kept.")
        form.get_by_label("Equality Act duties").fill("No disability or other protected need bears on it.")
        form.get_by_label("term time").check()
        form.get_by_label("Reasons for the decision").fill("Holiday taken after the leave request was refused.")
        form.get_by_role("button", name="Record the decision").click()
        expect(page.locator("#h-considered").locator("..")).to_contain_text("approved by")
        page.get_by_role("button", name="Give the notice to improve").click()
        expect(page.locator("#h-nti").locator("..")).to_contain_text("In its improvement period")

    with scopes_disabled():  # the family take more days off after the notice
        record(enrolment, school_sessions(school, dt.date(2025, 11, 3), 2), "OO")
    with time_machine.travel(at(CHECK_DAY, 6, 0), tick=True):
        tasks.notices_to_improve_check_school.apply(kwargs={"school_id": school.pk}).get()

    with time_machine.travel(at(CHECK_DAY, 9, 0), tick=True):
        sign_in(page, live_server, officer)
        page.goto(case_url)
        expect(page.locator("#h-nti").locator("..")).to_contain_text("Grounds for a penalty notice arose again")
        page.get_by_role("button", name="Prepare the referral for the headteacher").click()
        expect(page.locator("#h-referral").locator("..")).to_contain_text("Waiting for the headteacher")

        sign_in(page, live_server, head)
        page.goto(case_url)
        page.get_by_role("button", name="Authorise the referral").click()
        referral_box = page.locator("#h-referral").locator("..")
        expect(referral_box).to_contain_text("Authorised by")
        expect(referral_box.locator("ul.missing")).to_contain_text("meetings held or offered")
        shot(page, "referral-check")
        page.get_by_role("button", name="Submit to Essex").click()
        expect(page.locator("body")).to_contain_text("give the reason for submitting without them")
        page.get_by_label("Reason for submitting without").fill("The family did not come to the meetings offered.")
        page.get_by_role("button", name="Submit to Essex").click()
        expect(referral_box).to_contain_text("Submitted to the local authority")

    with scopes_disabled():
        pack = EvidencePack.objects.get(referral__case=case)
    assert tasks.evidence_pack_build_task.apply(kwargs={"school_id": school.pk, "pack_id": pack.pk}).get()

    with time_machine.travel(at(CHECK_DAY, 11, 0), tick=True):
        sign_in(page, live_server, la_officer)
        page.goto(live_server.url + reverse("la:inbox", args=["essex"]))
        shot(page, "la-inbox")
        page.get_by_role("link", name="Robin Ashby").click()
        expect(page.get_by_role("link", name=f"{pack.file_stem}.pdf")).to_be_visible()
        expect(page.locator("article[id^='parent-']").first).to_contain_text("Towncester, RB1 4DX")
        shot(page, "la-referral")
        page.get_by_role("button", name="Accept the referral").click()
        parent = page.locator("article[id^='parent-']").first
        parent.get_by_label("Notice number").fill("ESX-0001")
        parent.get_by_role("button", name="Issue a notice").click()
        notice = page.locator("article[id^='notice-']").first
        expect(notice).to_contain_text("£80 if paid by 26 Nov 2025; £160 if paid by 3 Dec 2025")
        notice.get_by_label("Amount (£)").fill("80")
        notice.get_by_role("button", name="Record payment").click()
        expect(page.locator("body")).to_contain_text("the school's case is closed")
        shot(page, "la-paid")

    with scopes_disabled():
        assert PenaltyNotice.objects.get(number="ESX-0001").status == "paid"
        assert Case.objects.get(pk=case.pk).outcome == "referred"


def test_the_local_authority_gives_the_notice_to_improve(page: Page, live_server, world):
    """Where the LA gives notices to improve, the school's decision waits in its workspace; the LA's officer
    gives the notice there and the school sees it on the case."""
    school = world.school
    officer = world.users["attendance_officer"]
    with scopes_disabled():
        add_calendar(school)
        ladder_for_tests(school)
        letters_ready(school)
        enrolment = absent_pupil(school, upn="J936200120001", forename="Robin", surname="Ashby")
        essex = LocalAuthority.objects.create(code="essex", name="Essex", nti_issued_by="la")
        la_officer = f.UserFactory(username="pn@essex", first_name="Pat", last_name="Nolan")
        LAOfficer.objects.create(local_authority=essex, user=la_officer, role=LAOfficer.Role.ATTENDANCE)
    run_night(school, NIGHT)
    sync(school, NIGHT)
    case = open_case(school, enrolment)
    case_url = live_server.url + reverse("penalties:case", args=[school.slug, case.pk])

    with time_machine.travel(at(NIGHT, 14, 0), tick=True):
        sign_in(page, live_server, officer)
        page.goto(case_url)
        form = page.locator("form[action$='/consider/']")
        form.get_by_label("Notice to improve", exact=True).check()
        form.get_by_label("Support so far").select_option("not_worked")
        form.get_by_label("Would another step change").fill("An attendance contract was agreed and not kept.")
        form.get_by_label("Equality Act duties").fill("No disability or other protected need bears on it.")
        form.get_by_label("Reasons for the decision").fill("Absence went on after two meetings and the contract.")
        form.get_by_role("button", name="Record the decision").click()
        expect(page.locator("#h-give").locator("..")).to_contain_text("Essex gives notices to improve itself")
        expect(page.get_by_role("button", name="Give the notice to improve")).to_have_count(0)
        shot(page, "school-waits-for-la-nti")

        sign_in(page, live_server, la_officer)
        page.goto(live_server.url + reverse("la:inbox", args=["essex"]))
        expect(page.locator("#h-nti").locator("..")).to_contain_text(school.name)
        shot(page, "la-inbox-nti")
        page.locator("#h-nti").locator("..").get_by_role("link", name="Robin Ashby").click()
        expect(page.locator("#h-decision").locator("..")).to_contain_text("Absence went on after two meetings")
        shot(page, "la-consideration")
        page.get_by_label("Improvement period (school weeks)").fill("9")
        page.get_by_role("button", name="Give the notice to improve").click()
        expect(page.locator("body")).to_contain_text("The improvement period must be 3 to 6 school weeks.")
        page.get_by_label("Improvement period (school weeks)").fill("6")
        page.get_by_role("button", name="Give the notice to improve").click()
        expect(page.locator("#h-notice").locator("..")).to_contain_text("by Essex: in its improvement period")
        shot(page, "la-nti-given")

        sign_in(page, live_server, officer)
        page.goto(case_url)
        expect(page.locator("#h-nti").locator("..")).to_contain_text("Given by Essex (Pat Nolan)")
        shot(page, "school-sees-la-nti")
