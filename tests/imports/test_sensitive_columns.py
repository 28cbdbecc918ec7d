"""Cohort characteristics (SEN, FSM, EAL, looked-after, child in need) through the import.

Only importers allowed to see sensitive characteristics may write them, and the summary never lets anyone
else infer them (the penetration test read "0 updated" for a true value and "1 updated" for a wrong one).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from registers.imports import ImportFiles, ImportRejected, school_import
from registers.models import ImportBatch, Pupil
from registers.tasks import import_batch_task
from tests import factories as f
from tests.conftest import add_calendar

from .helpers import ADA, MARKS, PUPILS, PUPILS_BASIC

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def alder(world):
    with scopes_disabled():
        add_calendar(world.school, year_start=dt.date(2023, 9, 1))
        add_calendar(world.school)
    return world.school


def _upload(client, school, pupils: str) -> ImportBatch:
    url = reverse("registers:import", kwargs={"school_slug": school.slug})
    response = client.post(url, {"pupils_csv": SimpleUploadedFile("pupils.csv", pupils.encode()),
                                 "marks_csv": SimpleUploadedFile("marks.csv", MARKS.encode())})
    assert response.status_code == 302
    with scope(school=school):
        batch = ImportBatch.objects.filter(school=school).latest("pk")
    import_batch_task.apply(kwargs={"school_id": school.pk, "batch_id": batch.pk}).get()
    f.reload(batch)
    return batch


def _status_page(client, batch: ImportBatch) -> str:
    url = reverse("registers:import_status", kwargs={"school_slug": batch.school.slug, "batch_id": batch.pk})
    return client.get(url).content.decode()


def _ada(school) -> Pupil:
    with scope(school=school):
        return Pupil.objects.get(school=school, upn=ADA)


def _with_ada_fsm(value: str) -> str:
    """PUPILS with Ada's fsm column set to Y or N (her row: sen,fsm,eal,cla,cin = K,Y,N,N,Y)."""
    return PUPILS.replace(",K,Y,N,N,Y\n", f",K,{value},N,N,Y\n")


def test_office_staff_cannot_import_sensitive_columns_and_nothing_is_written(alder, world, client_as):
    office = client_as(world.users["office_staff"])
    batch = _upload(office, alder, PUPILS)
    assert batch.status == "failed"
    [problem] = batch.errors
    assert problem["file"] == "pupils.csv" and problem["line"] == 1
    assert "cannot import pupils' sensitive characteristics" in problem["message"]
    assert "sen, fsm, eal, cla, cin" in problem["message"]
    with scope(school=alder):
        assert not Pupil.objects.filter(school=alder).exists()


def test_office_staff_cannot_probe_a_characteristic_through_the_import(alder, world, client_as):
    # The head imports the pupils with their characteristics: Ada has free school meals.
    head = client_as(world.users["headteacher"])
    first = _upload(head, alder, PUPILS)
    assert first.status == "done", first.errors
    assert _ada(alder).fsm is True
    office = client_as(world.users["office_staff"])
    # A true guess and a wrong guess get the same answer, and neither is written.
    true_guess, wrong_guess = _upload(office, alder, _with_ada_fsm("Y")), _upload(office, alder, _with_ada_fsm("N"))
    assert true_guess.status == wrong_guess.status == "failed"
    assert true_guess.errors == wrong_guess.errors
    assert true_guess.summary == wrong_guess.summary
    assert _ada(alder).fsm is True
    # The everyday columns still work for office staff, and leave the characteristics alone.
    done = _upload(office, alder, PUPILS_BASIC.replace(",Ada,", ",Adah,"))
    assert done.status == "done" and done.summary["pupils_updated"] == 1
    ada = _ada(alder)
    assert (ada.forename, ada.fsm, ada.sen, ada.child_in_need) == ("Adah", True, "K", True)


def test_summary_counts_characteristic_changes_apart_and_shows_them_only_to_sensitive_roles(alder, world, client_as):
    head = client_as(world.users["headteacher"])
    assert _upload(head, alder, PUPILS).status == "done"
    unchanged = _upload(head, alder, _with_ada_fsm("Y"))
    changed = _upload(head, alder, _with_ada_fsm("N"))
    assert _ada(alder).fsm is False
    # The everyday count is the same whether the characteristic matched or not.
    assert unchanged.summary["pupils_updated"] == changed.summary["pupils_updated"] == 0
    assert (unchanged.summary["characteristics_updated"], changed.summary["characteristics_updated"]) == (0, 1)
    assert "Sensitive characteristics" in _status_page(head, changed)
    office_view = _status_page(client_as(world.users["office_staff"]), changed)
    assert "Imported." in office_view and "Sensitive characteristics" not in office_view


def test_the_engine_refuses_sensitive_columns_unless_the_caller_allows_them(alder):
    files = ImportFiles(pupils_csv=PUPILS.encode(), marks_csv=MARKS.encode())
    with pytest.raises(ImportRejected) as refused:
        school_import(files=files, school=alder)
    assert "sensitive characteristics" in refused.value.problems[0].message
    summary = school_import(files=files, school=alder, write_sensitive=True)
    assert summary.counts["pupils_created"] == 3
    assert _ada(alder).fsm is True


def test_a_deleted_importer_cannot_write_sensitive_columns(alder, world, client_as):
    champion = client_as(world.users["senior_attendance_champion"])
    url = reverse("registers:import", kwargs={"school_slug": alder.slug})
    champion.post(url, {"pupils_csv": SimpleUploadedFile("pupils.csv", PUPILS.encode()),
                      "marks_csv": SimpleUploadedFile("marks.csv", MARKS.encode())})
    with scope(school=alder):
        batch = ImportBatch.objects.filter(school=alder).latest("pk")
        ImportBatch.objects.filter(pk=batch.pk, school=alder).update(created_by=None)
    import_batch_task.apply(kwargs={"school_id": alder.pk, "batch_id": batch.pk}).get()
    f.reload(batch)
    assert batch.status == "failed"
