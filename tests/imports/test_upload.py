"""The office upload: checks at the door, a batch row first, the task enqueued on commit, progress and errors."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from registers import setup_forms
from registers.imports import import_batch_progress
from registers.models import ImportBatch, Mark, Pupil
from registers.selectors import mark_history
from registers.tasks import import_batch_task
from tests import factories as f
from tests.conftest import add_calendar

from .helpers import ADA, MARKS, PUPILS, PUPILS_BASIC, SCHOOL, school_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # each test its own store: batch ids restart with a fresh database
    return settings.MEDIA_ROOT


@pytest.fixture
def office(world, client_as):
    return client_as(world.users["office_staff"])


def upload_url(world):
    return reverse("registers:import", kwargs={"school_slug": world.school.slug})


def files(*, school=None, pupils=PUPILS_BASIC, marks=MARKS, names=("school.json", "pupils.csv", "marks.csv")):
    data = {}
    if school is not None:
        content = school if isinstance(school, bytes) else json.dumps(school).encode()
        data["school_json"] = SimpleUploadedFile(names[0], content)
    if pupils is not None:
        data["pupils_csv"] = SimpleUploadedFile(names[1], pupils if isinstance(pupils, bytes) else pupils.encode())
    if marks is not None:
        data["marks_csv"] = SimpleUploadedFile(names[2], marks if isinstance(marks, bytes) else marks.encode())
    return data


def alder_json():
    return school_json(school={**SCHOOL["school"], "slug": "alder"})


def batches(world):
    with scope(school=world.school):
        return list(ImportBatch.objects.filter(school=world.school))


def run(batch):
    return import_batch_task.apply(kwargs={"school_id": batch.school_id, "batch_id": batch.pk}).get()


def test_upload_needs_import_data(world, client_as):
    for role in ("office_staff", "headteacher", "senior_attendance_champion"):
        assert client_as(world.users[role]).get(upload_url(world)).status_code == 200
    for role in ("class_teacher", "attendance_officer", "governor"):
        assert client_as(world.users[role]).get(upload_url(world)).status_code == 403
        assert client_as(world.users[role]).post(upload_url(world), files()).status_code == 403
    assert batches(world) == []


def test_upload_records_the_batch_stores_the_files_and_enqueues_on_commit(world, office,
                                                                          django_capture_on_commit_callbacks):
    with mock.patch.object(import_batch_task, "apply_async") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = office.post(upload_url(world), files(school=alder_json()))
            [batch] = batches(world)
            assert response.status_code == 302
            assert response["Location"].endswith(f"/import/{batch.pk}/")
            assert batch.status == "pending" and batch.created_by == world.users["office_staff"]
            delay.assert_not_called()  # nothing runs before the batch row is committed
        assert len(callbacks) == 1
        callbacks[0]()
        delay.assert_called_once_with(kwargs={"school_id": world.school.pk, "batch_id": batch.pk})
    stored = Path(settings.MEDIA_ROOT) / "imports" / "alder" / str(batch.pk)
    assert sorted(p.name for p in stored.iterdir()) == ["marks.csv", "pupils.csv", "school.json"]
    assert batch.files["marks_csv"] == f"imports/alder/{batch.pk}/marks.csv"


def test_the_task_imports_the_batch(world, office):
    office.post(upload_url(world), files(school=alder_json()))
    [batch] = batches(world)
    assert run(batch) == "done"
    f.reload(batch)
    assert (batch.status, batch.progress, batch.errors) == ("done", 100, [])
    assert batch.summary["marks_created"] == 6 and batch.summary["pupils_created"] == 3
    assert batch.finished_at is not None
    with scope(school=world.school):
        assert Mark.objects.filter(school=world.school).count() == 6
        ada = Pupil.objects.get(school=world.school, upn=ADA)
        assert mark_history(school=world.school, pupil_id=ada.pk)[0]["name"] == \
            world.users["office_staff"].display_name()
    # Run again (a redelivered message): the finished batch is left alone.
    assert run(batch) == "skipped"
    page = office.get(reverse("registers:import_status", kwargs={"school_slug": "alder", "batch_id": batch.pk}))
    assert "Imported." in page.content.decode() and "6 added" in page.content.decode()


def test_without_school_json_the_existing_calendar_is_used(world, office):
    with scopes_disabled():
        add_calendar(world.school)
    marks = "upn,date,session,code,minutes_late\n" + f"{ADA},2025-09-08,AM,/,\n{ADA},2025-11-14,AM,#,\n"
    office.post(upload_url(world), files(marks=marks))
    [batch] = batches(world)
    assert run(batch) == "done"
    with scope(school=world.school):
        assert Mark.objects.filter(school=world.school).count() == 1


def test_a_rejected_batch_lists_its_problems_and_writes_nothing(world, office):
    bad_marks = MARKS + f"{ADA},2025-09-06,AM,/,\n" + f"{ADA},2025-09-10,AM,L,5.5\n"
    office.post(upload_url(world), files(school=alder_json(), marks=bad_marks))
    [batch] = batches(world)
    assert run(batch) == "failed"
    f.reload(batch)
    assert batch.errors == [
        {"file": "marks.csv", "line": 9, "message": "Sat 06 September 2025 AM is not a school session (weekend)."},
        {"file": "marks.csv", "line": 10, "message": "minutes_late must be empty or a whole number, not '5.5'."},
    ] or batch.errors[::-1] == [
        {"file": "marks.csv", "line": 9, "message": "Sat 06 September 2025 AM is not a school session (weekend)."},
        {"file": "marks.csv", "line": 10, "message": "minutes_late must be empty or a whole number, not '5.5'."},
    ]
    assert batch.summary == {"problems": 2}
    with scope(school=world.school):
        assert not Pupil.objects.filter(school=world.school).exists()
    page = office.get(reverse("registers:import_status", kwargs={"school_slug": "alder", "batch_id": batch.pk}))
    text = page.content.decode()
    assert "Nothing was imported." in text and "not a school session (weekend)" in text


def test_school_json_for_another_school_is_refused(world, office):
    office.post(upload_url(world), files(school=SCHOOL))  # names "elm", not this school
    [batch] = batches(world)
    assert run(batch) == "failed"
    f.reload(batch)
    assert batch.errors[0]["file"] == "school.json"
    assert '"school" "slug" is "elm", but these files are being imported into Alder Primary' in \
        batch.errors[0]["message"]
    with scope(school=world.school):
        assert not Mark.objects.filter(school=world.school).exists()


def test_upload_school_json_does_not_move_the_school_between_trusts(world, office):
    data = alder_json()
    data["trust"] = {"name": "Elsewhere", "slug": "elsewhere"}
    office.post(upload_url(world), files(school=data))
    assert run(batches(world)[0]) == "done"
    world.school.refresh_from_db()
    assert world.school.trust_id == world.trust_a.pk and world.school.name == "Alder Primary"


@pytest.mark.parametrize(("upload", "message"), [
    (files(names=("school.json", "pupils.txt", "marks.csv")),
     "pupils.csv must be a .csv file, not &#x27;pupils.txt&#x27;"),
    (files(pupils=b"PK\x03\x04binary"), "pupils.csv is a spreadsheet or zip file"),
    (files(marks=MARKS.encode() + "caf\xe9".encode("latin-1")), "marks.csv is not UTF-8 text"),
    (files(marks=PUPILS), "marks.csv does not start with the expected header row"),
    (files(pupils=""), "pupils.csv is empty"),
    (files(school=b'{"school": '), "school.json is not valid JSON (line 1"),
    (files(marks=None), "Choose the marks.csv file."),
], ids=["extension", "xlsx", "not-utf8", "wrong-file", "empty", "bad-json", "missing"])
def test_bad_upload_is_refused_at_the_door(world, office, upload, message):
    response = office.post(upload_url(world), upload)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert batches(world) == []


def test_file_size_limit(world, office, monkeypatch):
    monkeypatch.setattr(setup_forms, "MAX_UPLOAD_BYTES", 100)
    response = office.post(upload_url(world), files())
    assert response.status_code == 400
    assert "pupils.csv is 0.0 MB; the limit is 0 MB per file." in response.content.decode()
    assert batches(world) == []


def test_status_page_polls_while_running_and_stops_when_done(world, office):
    from django.core.cache import cache

    with scopes_disabled():
        batch = ImportBatch.objects.create(school=world.school, status="running", progress=20)
    cache.set(f"import-progress:{batch.pk}", 65)
    assert import_batch_progress(batch=batch) == 65
    status_url = reverse("registers:import_status", kwargs={"school_slug": "alder", "batch_id": batch.pk})
    partial = office.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in partial and 'value="65"' in partial
    assert "<html" not in partial
    full = office.get(status_url).content.decode()
    assert 'http-equiv="refresh"' in full  # without JavaScript the page refreshes itself
    with scopes_disabled():
        ImportBatch.objects.filter(pk=batch.pk).update(status="done", progress=100, summary={"marks_created": 3})
    partial = office.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial and "Imported." in partial


def test_status_page_queries_do_not_grow_with_the_error_list(world, office):
    counts = []
    for n in (1, 200):
        with scopes_disabled():
            batch = ImportBatch.objects.create(
                school=world.school, status="failed", summary={"problems": n},
                errors=[{"file": "marks.csv", "line": i, "message": "bad"} for i in range(n)])
        status_url = reverse("registers:import_status", kwargs={"school_slug": "alder", "batch_id": batch.pk})
        office.get(status_url)  # warm the session and role caches
        with CaptureQueriesContext(connection) as queries:
            assert office.get(status_url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_other_schools_batch_is_404(world, office):
    with scopes_disabled():
        theirs = ImportBatch.objects.create(school=world.other, status="done")
    response = office.get(reverse("registers:import_status", kwargs={"school_slug": "alder", "batch_id": theirs.pk}))
    assert response.status_code == 404


def test_sweep_re_enqueues_only_batches_whose_message_was_lost(world, monkeypatch):
    import datetime as dt

    from django.utils import timezone
    from django_scopes import scopes_disabled

    from registers import tasks
    from registers.models import ImportBatch

    with scopes_disabled():
        old = ImportBatch.objects.create(school=world.school)
        ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(minutes=30))
        ImportBatch.objects.create(school=world.other)  # just made: its message is still on its way
        done = ImportBatch.objects.create(school=world.sister, status=ImportBatch.Status.DONE)
        ImportBatch.objects.filter(pk=done.pk).update(created_at=timezone.now() - dt.timedelta(minutes=30))
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(tasks.import_batch_task, "apply_async",
                        lambda kwargs, **options: sent.append((kwargs["school_id"], kwargs["batch_id"])))
    assert tasks.import_batches_sweep.apply().get() == 1
    assert sent == [(world.school.pk, old.pk)]
