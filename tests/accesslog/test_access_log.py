"""The access log: written where personal data is opened, append-only in the database, read by the head."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accesslog.models import AccessKind, AccessRecord
from accesslog.services import access_record
from attendance_portal.roles import Role
from tests import factories as f
from tests.absence.factories import LeaveRequestFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _records(school) -> list[AccessRecord]:
    with scope(school=school):
        return list(AccessRecord.objects.filter(school=school).order_by("pk"))


def _log_url(school) -> str:
    return reverse("accesslog:index", kwargs={"school_slug": school.slug})


def _api_url(school) -> str:
    return reverse("api:access-log", kwargs={"school_slug": school.slug})


@pytest.fixture
def head(world):
    return world.users[Role.HEADTEACHER.value]


# ---------------------------------------------------------------- the service and the database


def test_access_record_writes_one_row_with_who_and_what(world, head):
    pupil = f.PupilFactory(school=world.school)
    with scope(school=world.school):
        row = access_record(school=world.school, by=head, kind=AccessKind.SENSITIVE, pupil=pupil,
                            what="Cohort characteristics", path="/s/alder/registers/pupils/1/")
    [stored] = _records(world.school)
    assert stored.pk == row.pk
    assert (stored.user_id, stored.user_name, stored.pupil_id, stored.kind) == (
        head.pk, head.display_name(), pupil.pk, "sensitive")


def test_access_record_refuses_another_schools_pupil_and_a_nameless_command(world, head):
    theirs = f.PupilFactory(school=world.other)
    with scope(school=world.school), pytest.raises(ValueError, match="another school"):
        access_record(school=world.school, by=head, kind=AccessKind.SENSITIVE, pupil=theirs, what="x")
    with scope(school=world.school), pytest.raises(ValueError, match="by_name"):
        access_record(school=world.school, by=None, kind=AccessKind.EXPORT, what="x")
    assert _records(world.school) == []


@pytest.mark.parametrize("statement", [
    "UPDATE accesslog_accessrecord SET user_name = 'someone else'",
    "DELETE FROM accesslog_accessrecord",
])
def test_the_database_refuses_to_change_or_remove_a_row(world, head, statement):
    with scope(school=world.school):
        access_record(school=world.school, by=head, kind=AccessKind.EXPORT, what="Marks export")
    for bypass in ("SELECT 1", "SET LOCAL pgtrigger.ignore = '{accesslog_accessrecord:accesslog_append_only}'"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(bypass)
            # The application role may not (privilege); the trigger would refuse it anyway (for any role).
            with pytest.raises(DatabaseError, match=r"permission denied|append-only"):
                cursor.execute(statement)
            transaction.set_rollback(True)
    with scope(school=world.school), pytest.raises(DatabaseError, match=r"permission denied|append-only"), \
            transaction.atomic():
        AccessRecord.objects.filter(school=world.school).update(what="nothing")
    [kept] = _records(world.school)
    assert (kept.user_name, kept.what) == (head.display_name(), "Marks export")


# ---------------------------------------------------------------- where it is written


def test_opening_a_pupils_sensitive_details_is_logged_only_when_they_are_shown(world, client_as, head):
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    url = reverse("registers:pupil", args=[world.school.slug, pupil.pk])
    assert client_as(world.users["office_staff"]).get(url).status_code == 200  # no sensitive section
    assert _records(world.school) == []
    page = client_as(head).get(url)
    assert page.status_code == 200 and b"Cohort characteristics" in page.content
    [row] = _records(world.school)
    assert (row.kind, row.pupil_id, row.user_id, row.path) == ("sensitive", pupil.pk, head.pk, url)
    edit = reverse("registers:pupil_edit", args=[world.school.slug, pupil.pk])
    assert client_as(head).get(edit).status_code == 200
    assert [r.what for r in _records(world.school)][-1] == "Cohort characteristics on the change-details form"


def test_the_api_logs_sensitive_pupil_reads(world, client_as, head):
    pupil = f.PupilFactory(school=world.school)
    detail = reverse("api:pupil-detail", kwargs={"school_slug": world.school.slug, "pk": pupil.pk})
    listing = reverse("api:pupil-list", kwargs={"school_slug": world.school.slug})
    teacher = client_as(world.users["class_teacher"])
    assert "fsm" not in teacher.get(detail).json()
    teacher.get(listing)
    assert _records(world.school) == []
    assert "fsm" in client_as(head).get(detail).json()
    client_as(head).get(listing)
    one, many = _records(world.school)
    assert (one.pupil_id, one.kind) == (pupil.pk, "sensitive")
    assert (many.pupil_id, many.what) == (None, "Cohort characteristics of 1 pupil(s) in the API pupil list")


def test_downloading_evidence_is_logged(world, client_as, head, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    item = LeaveRequestFactory(pupil__school=world.school, evidence_type="image/png")
    with scopes_disabled():
        item.evidence.save("scan.png", ContentFile(PNG))
    url = reverse("absence:leave_evidence", args=[world.school.slug, item.pk])
    assert client_as(world.users["class_teacher"]).get(url).status_code == 403
    assert _records(world.school) == []
    response = client_as(head).get(url)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    [row] = _records(world.school)
    assert (row.kind, row.pupil_id) == ("evidence", item.pupil_id)
    assert row.what == f"Evidence for leave request {item.reference}"


def test_every_export_is_logged(world):
    call_command("export_marks", "--school", world.school.slug, "--from", "2025-09-01", "--to", "2025-09-30",
                 stdout=io.StringIO())
    [row] = _records(world.school)
    assert (row.kind, row.user_id, row.user_name) == ("export", None, "Server command export_marks")
    assert row.what == "Marks from 01 Sep 2025 to 30 Sep 2025 (marks.csv)"


# ---------------------------------------------------------------- the headteacher's page


def _fill(world, head, n: int = 3) -> dict[str, object]:
    ada = f.PupilFactory(school=world.school, forename="Ada", surname="Lovelace")
    ben = f.PupilFactory(school=world.school, forename="Ben", surname="Okri")
    officer = world.users["attendance_officer"]
    with scope(school=world.school):
        for i in range(n):
            row = access_record(school=world.school, by=head, kind=AccessKind.SENSITIVE, pupil=ada, what=f"ada {i}")
        AccessRecord.objects.create(school=world.school, kind=AccessKind.EVIDENCE, user=officer,
                                    user_name=officer.display_name(), pupil=ben, what="ben evidence",
                                    at=dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC))
    with scope(school=world.other):
        access_record(school=world.other, by=world.other_head, kind=AccessKind.EXPORT, what="cedar export")
    return {"ada": ada, "ben": ben, "officer": officer, "latest": row}


def test_the_head_reads_the_log_newest_first_and_only_their_schools(world, client_as, head):
    _fill(world, head)
    page = client_as(head).get(_log_url(world.school))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("ada 2") < body.index("ada 0") < body.index("ben evidence")
    assert "cedar export" not in body
    assert "Lovelace, Ada" in body and "Evidence file" in body
    assert "4 entries" in body


def test_the_log_filters_by_person_pupil_and_date(world, client_as, head):
    made = _fill(world, head)
    client = client_as(head)
    by_officer = client.get(_log_url(world.school), {"user": made["officer"].pk}).content.decode()
    assert "ben evidence" in by_officer and "ada 0" not in by_officer
    by_pupil = client.get(_log_url(world.school), {"pupil": "lovelace"}).content.decode()
    assert "ada 0" in by_pupil and "ben evidence" not in by_pupil
    by_date = client.get(_log_url(world.school), {"date_from": "2025-01-01", "date_to": "2025-01-31"}).content.decode()
    assert "ben evidence" in by_date and "ada 0" not in by_date


def test_the_log_is_paginated_and_its_queries_do_not_grow(world, client_as, head):
    _fill(world, head, n=3)
    client = client_as(head)
    client.get(_log_url(world.school))  # warm the session and role caches
    with CaptureQueriesContext(connection) as few:
        client.get(_log_url(world.school))
    _fill(world, head, n=70)
    with CaptureQueriesContext(connection) as many:
        first = client.get(_log_url(world.school)).content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert "page 1 of 2" in first and "Older entries" in first
    second = client.get(_log_url(world.school), {"page": 2}).content.decode()
    assert "page 2 of 2" in second and "Newer entries" in second


@pytest.mark.parametrize(("params", "message"), [
    ({"date_from": "yesterday"}, "Enter a real date"),
    ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "The end date is before the start date."),
    ({"user": "999999"}, "Choose a person from the list."),
    ({"user": "x"}, "Choose a person from the list."),
    ({"pupil": "Ada\x00"}, "not allowed (NUL)"),
])
def test_bad_filters_are_a_clear_400(world, client_as, head, params, message):
    _fill(world, head, n=1)
    response = client_as(head).get(_log_url(world.school), params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert len(_records(world.school)) == 2  # reading the log writes nothing


@pytest.mark.parametrize("role", [r for r in Role if r != Role.HEADTEACHER])
def test_only_the_headteacher_reads_the_log(world, client_as, role):
    client = client_as(world.users[role.value])
    assert client.get(_log_url(world.school)).status_code == 403
    assert client.get(_api_url(world.school)).status_code == 403


def test_another_schools_log_is_404(world, client_as, head):
    assert client_as(head).get(_log_url(world.other)).status_code == 404
    assert client_as(head).get(_api_url(world.other)).status_code == 404
    assert client_as(world.other_head).get(_log_url(world.school)).status_code == 404


def test_the_head_finds_the_log_in_the_navigation(world, client_as, head):
    home = reverse("school_home", args=[world.school.slug])
    assert _log_url(world.school) in client_as(head).get(home).content.decode()
    assert _log_url(world.school) not in client_as(world.users["senior_attendance_champion"]).get(home).content.decode()


# ---------------------------------------------------------------- the API


def test_the_api_lists_and_filters_the_log(world, client_as, head):
    made = _fill(world, head)
    client = client_as(head)
    everything = client.get(_api_url(world.school)).json()
    assert everything["count"] == 4
    assert everything["results"][0]["what"] == "ada 2"
    assert {r["what"] for r in everything["results"]} == {"ada 0", "ada 1", "ada 2", "ben evidence"}
    by_pupil = client.get(_api_url(world.school), {"pupil": made["ben"].pk}).json()
    assert [r["what"] for r in by_pupil["results"]] == ["ben evidence"]
    by_user = client.get(_api_url(world.school), {"user": made["officer"].pk}).json()
    assert [r["user_name"] for r in by_user["results"]] == [made["officer"].display_name()]
    by_date = client.get(_api_url(world.school), {"date_from": "2025-01-10", "date_to": "2025-01-10"}).json()
    assert by_date["count"] == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"user": "abc"}, "user"),
    ({"pupil": "-1"}, "pupil"),
    ({"date_from": "2025-13-01"}, "date_from"),
    ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "date_to"),
])
def test_the_api_refuses_bad_filters(world, client_as, head, params, field):
    response = client_as(head).get(_api_url(world.school), params)
    assert response.status_code == 400
    assert field in response.json()


def test_the_api_log_cannot_be_written(world, client_as, head):
    client = client_as(head)
    response = client.post(_api_url(world.school), {"what": "forged"}, content_type="application/json")
    assert response.status_code == 405
    assert _records(world.school) == []


def test_the_social_worker_flag_on_the_absence_page_is_logged_when_shown(world, client_as, head):
    quiet = f.EnrolmentFactory(pupil__school=world.school).pupil
    flagged = f.EnrolmentFactory(pupil__school=world.school, pupil__has_social_worker=True).pupil
    client_as(head).get(reverse("absence:pupil", args=[world.school.slug, quiet.pk]))
    client_as(world.users["office_staff"]).get(reverse("absence:pupil", args=[world.school.slug, flagged.pk]))
    assert _records(world.school) == []  # nothing sensitive shown
    page = client_as(head).get(reverse("absence:pupil", args=[world.school.slug, flagged.pk]))
    assert b"Social worker" in page.content
    [row] = _records(world.school)
    assert (row.pupil_id, row.what) == (flagged.pk, "Social worker flag on the pupil's absence page")
