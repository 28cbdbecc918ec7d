"""The evidence pack: frozen on submission, built by its task (one PDF with a safe name and a ZIP of the same
data as CSV), built once however often the task arrives, and sent again by the sweeper when lost."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from letters.models import Letter
from letters.services import letter_process
from penalties.case_selectors import pack_missing
from penalties.evidence import LetterCopyMissing, file_stem
from penalties.models import EvidencePack, Referral
from penalties.services import evidence_packs_sweep, referral_authorise, referral_submit
from penalties.tasks import evidence_pack_build_task
from registers.codes import CODES
from registers.models import Guardian
from tests import factories as f
from tests.letters.helpers import pdf_pages, pdf_text

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


def _built(pack):
    assert evidence_pack_build_task(school_id=pack.school_id, pack_id=pack.pk) is True
    with scopes_disabled():
        pack.refresh_from_db()
    with default_storage.open(pack.pdf, "rb") as pdf, default_storage.open(pack.zip, "rb") as stored:
        return pdf.read(), zipfile.ZipFile(io.BytesIO(stored.read()))


def _text(pdf):
    """The PDF's words with the line breaks of table cells taken out."""
    return " ".join(pdf_text(pdf).split())


def _csv(archive, pack, section):
    return list(csv.DictReader(io.StringIO(archive.read(f"{pack.file_stem}_{section}.csv").decode())))


@pytest.mark.django_db
def test_the_pack_gives_every_parents_name_and_address_and_the_check_names_a_missing_address(
        world, school, case, django_capture_on_commit_callbacks):
    with scopes_disabled():
        f.PupilContactFactory(pupil=case.pupil, guardian__school=school, guardian__forename="Rhys",
                              guardian__surname="Lloyd", guardian__address="", guardian__postcode="",
                              relationship="Father", priority=2)
        f.PupilContactFactory(pupil=case.pupil, guardian__school=school, guardian__forename="Nan",
                              guardian__surname="Lloyd", relationship="Grandparent", parental_responsibility=False,
                              priority=3)
        mother = case.pupil.contacts.get(priority=1).guardian
    pack = _submit(world, school, case, django_capture_on_commit_callbacks)
    with scope(school=school):
        assert pack_missing(referral=pack.referral) == pack.data["missing"]
    assert "the postal address of Rhys Lloyd (with parental responsibility)" in pack.data["missing"]
    assert not any(str(mother) in item for item in pack.data["missing"])
    assert [(p["name"], p["relationship"], p["address"], p["postcode"]) for p in pack.data["parents"]] == [
        (str(mother), "Mother", mother.address.replace("\n", ", "), "RB1 4DX"), ("Rhys Lloyd", "Father", "", "")]
    pdf, archive = _built(pack)
    text = _text(pdf)
    assert mother.address.splitlines()[0] in text and "No address held" in text and "Nan Lloyd" not in text
    assert _csv(archive, pack, "parents")[0] == {"name": str(mother), "relationship": "Mother",
                                                 "address": mother.address.replace("\n", ", "), "postcode": "RB1 4DX"}


@pytest.mark.django_db
def test_the_certificate_explains_each_code_on_it_from_the_code_table(world, school, case,
                                                                   django_capture_on_commit_callbacks):
    pack = _submit(world, school, case, django_capture_on_commit_callbacks)
    on_certificate = {row["code"] for row in pack.data["certificate"]}
    explained = {row["code"]: row for row in pack.data["codes"]}
    assert set(explained) == on_certificate and "G" in explained
    assert explained["G"]["meaning"] == CODES["G"].meaning
    assert "Unauthorised absence; counts toward the penalty-notice threshold" == explained["G"]["counts"]
    pdf, archive = _built(pack)
    assert CODES["G"].meaning in _text(pdf) and "counts toward the penalty-notice threshold" in _text(pdf)
    assert {row["code"] for row in _csv(archive, pack, "codes")} == on_certificate


def _letters_sent(school, case):
    """Make and send the notice-to-improve letters (the letters task's work), the first parent's by post."""
    with scope(school=school):
        Guardian.objects.filter(school=school, contacts__pupil=case.pupil, contacts__priority=1).update(email="")
        letters = list(Letter.objects.filter(school=school, pupil=case.pupil))
        for letter in letters:
            letter_process(letter_id=letter.pk)
        return list(Letter.objects.filter(school=school, pupil=case.pupil).order_by("created_at"))


@pytest.mark.django_db
def test_a_copy_of_each_sent_letter_follows_the_pack_with_its_proof_of_posting(
        world, school, case, django_capture_on_commit_callbacks):
    with scope(school=school):
        _referred(world, school, case)
    letters = _letters_sent(school, case)
    assert [letter.status for letter in letters] == ["sent"]
    with scope(school=school):
        referral = referral_authorise(referral=Referral.objects.get(case=case), by=head(world))
        with django_capture_on_commit_callbacks(execute=False):
            referral_submit(referral=referral, by=officer(world), incomplete_reason="Minutes on paper.")
    with scopes_disabled():
        pack = EvidencePack.objects.get(referral=referral)
        guardian = letters[0].guardian
    row = pack.data["letters"][0]
    assert row["pdf"] == letters[0].pdf and set(row["channels"].split(", ")) == {"Parent portal", "Post"}
    assert row["posted"].startswith("Posted ") and ", ".join(guardian.address_lines) in row["posted"]
    assert "approved by" in row["posted"]
    pdf, archive = _built(pack)
    with default_storage.open(letters[0].pdf, "rb") as handle:
        letter_pdf = handle.read()
    whole, own = pdf_pages(pdf), pdf_pages(pdf) - pdf_pages(letter_pdf)
    assert own >= 1 and _text(letter_pdf) in _text(pdf)
    listed = _csv(archive, pack, "letters")[0]
    expected = f"{own + 1}" if whole == own + 1 else f"{own + 1}-{whole}"
    assert listed["copy_pages"] == expected and listed["pdf_sha256"] == letters[0].pdf_sha256
    assert listed["posted"] == row["posted"] and f"Page 1 of {whole}" in _text(pdf)
    assert f"page {expected}" in _text(pdf)


@pytest.mark.django_db
def test_a_letter_copy_that_is_not_the_letter_sent_stops_the_build(world, school, case,
                                                                   django_capture_on_commit_callbacks):
    with scope(school=school):
        _referred(world, school, case)
    letters = _letters_sent(school, case)
    with scope(school=school):
        referral = referral_authorise(referral=Referral.objects.get(case=case), by=head(world))
        with django_capture_on_commit_callbacks(execute=False):
            referral_submit(referral=referral, by=officer(world), incomplete_reason="Minutes on paper.")
    with default_storage.open(letters[0].pdf, "wb") as handle:
        handle.write(b"%PDF-1.7 something else")
    with scopes_disabled():
        pack = EvidencePack.objects.get(referral=referral)
    with pytest.raises(LetterCopyMissing, match="is not the letter sent"):
        evidence_pack_build_task(school_id=school.pk, pack_id=pack.pk)
    with scopes_disabled():
        pack.refresh_from_db()
    assert pack.status == "failed" and "is not the letter sent" in pack.error and not pack.pdf
