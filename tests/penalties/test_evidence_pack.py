"""The evidence pack: frozen on submission, built by its task (one PDF with a safe name and a ZIP of the same
data as CSV), built once however often the task arrives, and sent again by the sweeper when lost."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from penalties.evidence import file_stem
from penalties.models import EvidencePack
from penalties.services import evidence_packs_sweep, referral_authorise, referral_submit
from penalties.tasks import evidence_pack_build_task

from .conftest import head, officer
from .test_referrals import _referred


def _submit(world, school, case, django_capture_on_commit_callbacks):
    with scope(school=school):
        referral = referral_authorise(referral=_referred(world, school, case), by=head(world))
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            referral_submit(referral=referral, by=officer(world), incomplete_reason="Minutes on paper.")
    assert len(callbacks) == 1  # the build is sent only once the submission commits
    with scopes_disabled():
        return EvidencePack.objects.get(referral=referral)


def test_a_file_name_has_no_spaces_or_special_characters():
    assert file_stem(upn="J936 2001 20001", surname="O'Néill-Smith", forename="Zoë Ann", day="20251103") == \
        "J936-2001-20001_O-Neill-Smith_Zoe-Ann_20251103"


@pytest.mark.django_db
def test_the_pack_is_frozen_on_submission_and_built_once_by_its_task(world, school, case,
                                                                   django_capture_on_commit_callbacks):
    pack = _submit(world, school, case, django_capture_on_commit_callbacks)
    assert pack.status == "queued"
    met = [row for row in pack.data["certificate"] if row["met"]]
    assert len(met) >= 10 and {row["code"] for row in met} == {"G"}
    assert pack.data["notice_to_improve"]["outcome"] == "Did not improve sufficiently"
    assert pack.data["authorisation"]["as"] == "Headteacher"
    assert pack.data["missing"] and pack.data["incomplete_reason"] == "Minutes on paper."
    # Data recorded after the submission does not change the pack.
    with scope(school=school):
        case.pupil.forename = "Renamed"
        case.pupil.save()
    assert evidence_pack_build_task(school_id=school.pk, pack_id=pack.pk) is True
    assert evidence_pack_build_task(school_id=school.pk, pack_id=pack.pk) is False  # a redelivered task
    with scopes_disabled():
        pack.refresh_from_db()
    assert pack.status == "built" and pack.file_stem.replace("_", "").replace("-", "").isalnum()
    assert pack.pdf.endswith(f"{pack.file_stem}.pdf") and pack.zip.endswith(f"{pack.file_stem}.zip")
    with default_storage.open(pack.pdf, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    with default_storage.open(pack.zip, "rb") as stored, zipfile.ZipFile(io.BytesIO(stored.read())) as archive:
        names = archive.namelist()
        assert f"{pack.file_stem}_certificate.csv" in names and f"{pack.file_stem}_summary.csv" in names
        assert "Renamed" not in archive.read(f"{pack.file_stem}_summary.csv").decode()
        certificate = archive.read(f"{pack.file_stem}_certificate.csv").decode()
        assert certificate.startswith("date,session,code"), certificate[:200]


@pytest.mark.django_db
def test_the_sweeper_sends_a_lost_build_again(world, school, case, django_capture_on_commit_callbacks,
                                             monkeypatch):
    pack = _submit(world, school, case, django_capture_on_commit_callbacks)
    sent = []
    monkeypatch.setattr("penalties.services._pack_send", lambda p: sent.append(p.pk))
    assert evidence_packs_sweep() == 0  # still inside its lease
    assert evidence_packs_sweep(now=timezone.now() + dt.timedelta(hours=1)) == 1
    assert sent == [pack.pk]
