"""Leave of absence: the parent's request (notice, dates, evidence), the head's decision, refused-and-taken as G."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from absence import services
from absence.models import LeaveRequest
from registers.models import Mark
from registers.selectors import mark_history
from registers.services import MarkEntry, marks_save
from tests.factories import SchoolPolicyFactory

from .conftest import MONDAY, at
from .factories import LeaveRequestFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FIRST = dt.date(2025, 10, 6)  # four weeks after MONDAY
LAST = dt.date(2025, 10, 7)


def _ask(client, pupil, evidence=None, **overrides):
    data = {"child": pupil.pk, "first_date": FIRST.isoformat(), "last_date": LAST.isoformat(), "sessions": "BOTH",
            "circumstance": "exceptional", "reason": "Grandparent's funeral in Ireland"}
    data.update(overrides)
    if evidence is not None:
        data["evidence"] = evidence
    return client.post(reverse("parent:leave"), data)


def _count(school):
    with scope(school=school):
        return LeaveRequest.objects.count()


def test_parent_asks_for_leave_with_evidence(fam, client_as, monday_morning):
    pupil, _, user = fam
    client = client_as(user)
    form_page = client.get(reverse("parent:leave")).content.decode()
    assert "at least 14 days" in form_page
    response = _ask(client, pupil, evidence=SimpleUploadedFile("order of service.pdf", PDF, "application/pdf"))
    assert response.status_code == 302
    with scope(school=pupil.school):
        item = LeaveRequest.objects.get()
        assert item.evidence_type == "application/pdf" and item.evidence_name == "order of service.pdf"
        assert "order of service" not in item.evidence.name  # stored under a name of our own
        assert item.reference.startswith("L") and len(item.reference) == 7
    assert item.reference in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(("overrides", "evidence", "message"), [
    ({"first_date": "2025-09-05", "last_date": "2025-09-05"}, None, "in advance"),
    ({"first_date": "2025-09-08", "last_date": "2025-09-08"}, None, "in advance"),
    ({"first_date": "2025-09-15", "last_date": "2025-09-16"}, None, "at least 14 days"),
    ({"first_date": "2025-10-07", "last_date": "2025-10-06"}, None, "cannot be before the first day"),
    ({"first_date": "2025-11-14", "last_date": "2025-11-14"}, None, "INSET day"),
    ({"reason": ""}, None, "This field is required"),
    ({}, ("holiday.exe", b"MZ\x90\x00" + b"\x00" * 50, "application/pdf"), "must be a PDF, PNG or JPEG"),
    ({}, ("letter.pdf", b"<html>not a pdf</html>", "application/pdf"), "must be a PDF, PNG or JPEG"),
    ({}, ("big.png", PNG + b"\x00" * (5 * 1024 * 1024), "image/png"), "too large"),
])
def test_bad_leave_request_is_refused_with_a_clear_message_and_nothing_written(
        fam, client_as, monday_morning, overrides, evidence, message):
    pupil, _, user = fam
    upload = SimpleUploadedFile(*evidence) if evidence else None
    response = _ask(client_as(user), pupil, evidence=upload, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _count(pupil.school) == 0


def test_school_notice_comes_from_its_policy(fam, client_as, monday_morning):
    pupil, _, user = fam
    SchoolPolicyFactory(school=pupil.school, effective_from=dt.date(2025, 9, 1), leave_notice_days=28)
    response = _ask(client_as(user), pupil, first_date="2025-10-01", last_date="2025-10-01")
    assert "at least 28 days" in response.content.decode()
    assert _ask(client_as(user), pupil, first_date="2025-10-06").status_code == 302


def test_a_child_not_theirs_is_refused(fam, client_as, world, monday_morning):
    from tests import factories as f

    _, _, user = fam
    stranger = f.EnrolmentFactory(pupil__school=world.school).pupil
    response = _ask(client_as(user), stranger)
    assert "Choose one of your own children" in response.content.decode()
    assert _count(world.school) == 0


@pytest.mark.parametrize(("circumstance", "code"), [
    ("performance", "C1"), ("interview", "J1"), ("study", "S"), ("part_time", "C2"), ("exceptional", "C"),
])
def test_granting_prefills_the_regulation_code(fam, world, client_as, monday_morning, circumstance, code):
    pupil, _, _ = fam
    item = LeaveRequestFactory(pupil=pupil, first_date=FIRST, last_date=FIRST, sessions="AM")
    head = client_as(world.users["headteacher"])
    head.post(reverse("absence:leave_grant", args=[world.school.slug, item.pk]), {"grant-circumstance": circumstance})
    with scope(school=world.school):
        item.refresh_from_db()
        assert item.status == "granted" and item.granted_circumstance == circumstance
        assert list(Mark.objects.filter(pupil=pupil).values_list("date", "session", "code")) == [
            (FIRST, "AM", code)]
        assert mark_history(school=world.school, pupil_id=pupil.pk)[0]["source"] == "leave"


def test_only_the_head_decides(fam, world, client_as, monday_morning):
    pupil, _, _ = fam
    item = LeaveRequestFactory(pupil=pupil, first_date=FIRST, last_date=LAST)
    for role in ("office_staff", "attendance_officer", "senior_attendance_champion"):
        client = client_as(world.users[role])
        assert client.post(reverse("absence:leave_grant", args=[world.school.slug, item.pk]),
                           {"grant-circumstance": "exceptional"}).status_code == 403
        assert client.get(reverse("absence:leave_detail", args=[world.school.slug, item.pk])).status_code == 200
    with scope(school=world.school):
        assert LeaveRequest.objects.get().status == "pending" and not Mark.objects.exists()


def test_refused_then_taken_is_coded_G_by_the_office(fam, world, client_as, django_capture_on_commit_callbacks):
    pupil, _, user = fam
    with time_machine.travel(at(MONDAY, 10), tick=False):
        item = LeaveRequestFactory(pupil=pupil, first_date=FIRST, last_date=LAST)
        head = client_as(world.users["headteacher"])
        url = reverse("absence:leave_refuse", args=[world.school.slug, item.pk])
        assert "Give the reason" in head.post(url, {"refuse-reason": ""}, follow=True).content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            head.post(url, {"refuse-reason": "A holiday is not exceptional"})
        page = client_as(user).get(reverse("parent:child", args=[pupil.pk])).content.decode()
        assert "A holiday is not exceptional" in page
    office_user = world.users["office_staff"]
    with time_machine.travel(at(LAST, 10), tick=False):
        with scope(school=world.school):  # the register was taken: N on the first day, present on the second PM
            marks_save(school=world.school, by=office_user, entries=[
                MarkEntry(pupil.pk, FIRST, "AM", "N"), MarkEntry(pupil.pk, FIRST, "PM", "N"),
                MarkEntry(pupil.pk, LAST, "AM", "N"), MarkEntry(pupil.pk, LAST, "PM", "\\")])
        office = client_as(office_user)
        leave_page = office.get(reverse("absence:leave", args=[world.school.slug])).content.decode()
        assert f"record G for {item.reference}" in leave_page
        office.post(reverse("absence:leave_taken", args=[world.school.slug, item.pk]))
    with scope(school=world.school):
        codes = {(m.date, m.session): m.code for m in Mark.objects.filter(pupil=pupil)}
        item.refresh_from_db()
        history = mark_history(school=world.school, pupil_id=pupil.pk)
    assert codes == {(FIRST, "AM"): "G", (FIRST, "PM"): "G", (LAST, "AM"): "G", (LAST, "PM"): "\\"}
    assert item.status == "taken"
    assert history[0]["original"] == "N" and history[0]["new"] == "G" and "refused" in history[0]["reason"]
    # The family reads what happened in words, not the register's code.
    page = client_as(user).get(reverse("parent:leave_detail", args=[item.pk])).content.decode()
    assert "recorded as unauthorised absence" in page and "(recorded as G)" not in page


def test_granting_twice_is_refused(fam, world, monday_morning):
    pupil, _, _ = fam
    item = LeaveRequestFactory(pupil=pupil, first_date=FIRST, last_date=LAST)
    head = world.users["headteacher"]
    with scope(school=world.school):
        services.leave_request_grant(request=item, by=head)
        with pytest.raises(services.AbsenceError, match="already been decided"):
            services.leave_request_refuse(request=item, by=head, reason="changed my mind")


def test_evidence_is_downloadable_by_staff_only(fam, world, client_as, monday_morning):
    pupil, _, user = fam
    _ask(client_as(user), pupil, evidence=SimpleUploadedFile("scan.png", PNG, "image/png"))
    with scope(school=world.school):
        item = LeaveRequest.objects.get()
    url = reverse("absence:leave_evidence", args=[world.school.slug, item.pk])
    response = client_as(world.users["headteacher"]).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client_as(world.users["class_teacher"]).get(url).status_code == 403
    assert client_as(user).get(url).status_code == 404  # a parent is not a member of the school
