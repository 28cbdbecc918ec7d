"""The engine: requesting letters, rendering by claim, sending once per channel, stale letters."""

from __future__ import annotations

import datetime as dt
import hashlib

import pghistory
import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.test import override_settings
from django_scopes import scope

from letters import services
from letters.models import Letter, LetterBatch, LetterSend, LetterSession, RecipientDetails
from registers.models import Mark
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import absences, make_family
from .helpers import pdf_text

ON = dt.date(2025, 9, 30)


def request(lw, fam, sessions, **kw):
    return services.letter_request(school=lw.school, pupil=fam.pupil, kind="stage_1", by=lw.officer,
                                   approved_by=lw.officer, sessions=sessions, on=ON, **kw)


def test_one_letter_per_parent_with_parental_responsibility(lw, django_capture_on_commit_callbacks):
    with scope(school=lw.school):
        fam = make_family(lw.school, 9, parents=2)
        no_pr = f.GuardianFactory(school=lw.school)
        f.PupilContactFactory(school=lw.school, pupil=fam.pupil, guardian=no_pr, parental_responsibility=False,
                              priority=5)
        sessions = absences(fam.pupil, [dt.date(2025, 9, 10)])
        with django_capture_on_commit_callbacks() as callbacks:
            letters = request(lw, fam, sessions, case_ref="case:7")
        assert [letter.guardian for letter in letters] == fam.parents
        assert len(callbacks) == 1  # rendering is enqueued only when the caller's transaction commits
        assert all(letter.status == Letter.Status.QUEUED and letter.case_ref == "case:7" for letter in letters)
        assert letters[0].template == lw.template and letters[0].merge_data["parent"]["name"] == "Parent0 Okafor9"
        assert LetterSession.objects.filter(letter__in=letters).count() == 4


def test_pdf_holds_the_name_the_figures_and_the_sessions(lw):
    with scope(school=lw.school):
        fam = lw.families[0]
        sessions = absences(fam.pupil, [dt.date(2025, 9, 10), dt.date(2025, 9, 11)])
        [letter] = request(lw, fam, sessions)
        assert letter.warnings == []  # every field the template uses has a value, the tables included
        assert services.letter_render(letter_id=letter.pk) is True
        letter.refresh_from_db()
        text = pdf_text(letter.pdf)
        with default_storage.open(letter.pdf, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == letter.pdf_sha256
    # 20 school days in September from the 3rd: 40 sessions, 4 missed -> 90.0 %.
    assert "Amira0 Okafor0" in text and "Amira0's attendance" in text
    assert "90.0%" in text and "4 sessions, which is 2 days" in text
    assert "Wed 10 Sep 2025" in text and "Thu 11 Sep 2025" in text
    assert "Absent in other or unknown circumstances" in text
    assert "Parent0 Okafor0" in text and "0 Mill Lane" in text and "Mrs Patel" in text
    assert "Sam Reid" in text and "cut here" in text
    assert "97%" in text  # the days-missed table


def test_render_and_send_happen_once(lw, settings):
    with scope(school=lw.school):
        fam = lw.families[1]
        [letter] = request(lw, fam, absences(fam.pupil, [dt.date(2025, 9, 10)]))
        assert services.letter_render(letter_id=letter.pk) is True
        assert services.letter_render(letter_id=letter.pk) is False
        first = Letter.objects.get(pk=letter.pk)
        assert services.letter_send(letter_id=letter.pk) is True
        assert services.letter_send(letter_id=letter.pk) is False
        services.letter_process(letter_id=letter.pk)  # a redelivered task: nothing new
        after = Letter.objects.get(pk=letter.pk)
        sends = sorted(LetterSend.objects.filter(letter=letter).values_list("channel", flat=True))
        assert after.status == Letter.Status.SENT and after.pdf == first.pdf
        assert sends == ["email", "portal"]
        assert all(s.approved_by == lw.officer for s in LetterSend.objects.filter(letter=letter))
        assert LetterBatch.objects.get(pk=letter.batch_id).status == LetterBatch.Status.DONE
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["parent1-0@example.org"]
    assert mail.outbox[0].attachments[0][2] == "application/pdf"


def test_empty_fields_are_recorded_on_the_letter(lw):
    with scope(school=lw.school):
        services.template_save(school=lw.school, kind="stage_1", subject="Meeting", by=lw.officer,
                               body="We meet on {{ meeting.date }}.\n\n{{ sessions_table }}")
        [letter] = request(lw, lw.families[0], [])
        assert letter.warnings == ["meeting.date", "sessions_table"]


def test_a_claim_held_by_a_live_worker_is_not_taken(lw):
    with scope(school=lw.school):
        [letter] = request(lw, lw.families[0], [])
        Letter.objects.filter(pk=letter.pk).update(status="rendering", claim="other", claimed_at=dt.datetime.now(
            dt.UTC))
        assert services.letter_render(letter_id=letter.pk) is False
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings_lease() + 1)
        assert services.letter_render(letter_id=letter.pk, now=later) is True


def settings_lease() -> int:
    from django.conf import settings

    return settings.LETTERS_LEASE_SECONDS


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("relay down")


@override_settings(EMAIL_BACKEND="tests.letters.test_engine.FailingBackend")
def test_failed_email_falls_back_to_post(lw):
    with scope(school=lw.school):
        [letter] = request(lw, lw.families[0], [])
        services.letter_process(letter_id=letter.pk)
        sends = {s.channel: s for s in LetterSend.objects.filter(letter=letter)}
        assert set(sends) == {"portal", "email", "post"}
        assert sends["email"].ok is False and "relay down" in sends["email"].error
        batch = LetterBatch.objects.get(pk=letter.batch_id)
        assert batch.print_letters == 1 and batch.print_file
        assert "Amira0 Okafor0" in pdf_text(batch.print_file)


def test_no_current_email_means_post(lw):
    with scope(school=lw.school):
        fam = lw.families[2]
        RecipientDetails.objects.filter(guardian=fam.parents[0]).update(email_current=False)
        [letter] = request(lw, fam, [])
        services.letter_process(letter_id=letter.pk)
        assert sorted(LetterSend.objects.filter(letter=letter).values_list("channel", flat=True)) == ["portal", "post"]
    assert mail.outbox == []


def test_amending_a_session_behind_an_unsent_letter_makes_it_stale(lw, django_capture_on_commit_callbacks):
    with scope(school=lw.school):
        fam = lw.families[0]
        sessions = absences(fam.pupil, [dt.date(2025, 9, 10)])
        [unsent] = request(lw, fam, sessions)
        [sent] = request(lw, fam, sessions)
        services.letter_process(letter_id=sent.pk)
        mark = Mark.objects.get(pupil=fam.pupil, date=dt.date(2025, 9, 10), session="AM")
        result = marks_save(school=lw.school, by=lw.officer, reason="Mother sent a doctor's note", entries=[
            MarkEntry(pupil_id=fam.pupil.pk, date=mark.date, session="AM", code="I", expected_version=mark.version)])
        assert not result.conflicts
        unsent.refresh_from_db()
        sent.refresh_from_db()
        assert unsent.status == Letter.Status.STALE and unsent.evidence_changed_at is not None
        assert sent.status == Letter.Status.SENT and sent.evidence_changed_at is not None
        assert services.letter_render(letter_id=unsent.pk) is False  # not made while out of date
        with django_capture_on_commit_callbacks():
            [fresh] = services.letter_regenerate(letter=unsent, by=lw.officer)
        unsent.refresh_from_db()
        assert unsent.status == Letter.Status.CANCELLED
        assert ["2025-09-10", "AM", "I"] in fresh.sessions and fresh.status == Letter.Status.QUEUED


def test_unchanged_marks_leave_letters_alone(lw):
    with scope(school=lw.school):
        fam = lw.families[0]
        sessions = absences(fam.pupil, [dt.date(2025, 9, 10)])
        [letter] = request(lw, fam, sessions)
        with pghistory.context(name="office", reason="seen"):  # a change to a mark carries who and why
            Mark.objects.filter(pupil=fam.pupil, date=dt.date(2025, 9, 10)).update(note="seen")
            Mark.objects.filter(pupil=fam.pupil, date=dt.date(2025, 9, 11)).update(code="I")
        letter.refresh_from_db()
        assert letter.status == Letter.Status.QUEUED and letter.evidence_changed_at is None


def test_reapproving_a_stale_letter_sends_it_in_a_batch_of_its_own(lw, world):
    with scope(school=lw.school):
        fam = lw.families[0]
        [letter] = request(lw, fam, absences(fam.pupil, [dt.date(2025, 9, 10)]))
        with pghistory.context(name="office", reason="illness reported"):
            Mark.objects.filter(pupil=fam.pupil, date=dt.date(2025, 9, 10)).update(code="I")
        letter.refresh_from_db()
        first_batch = letter.batch_id
        head = world.users["headteacher"]
        again = services.letter_reapprove(letter=letter, by=head)
        assert again.status == Letter.Status.QUEUED and again.approved_by == head
        assert again.batch_id != first_batch
        with pytest.raises(ValueError, match="out of date"):
            services.letter_reapprove(letter=again, by=head)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "nonsense"}, "not a kind"),
    ({"sessions": [("2025-09-10", "XX", "O")]}, "Not a session"),
    ({"sessions": [("2025-09-10", "AM")]}, "Each session"),
    ({"sessions": [("2025-09-10", "AM", "ZZ")]}, "Not a session"),
    ({"extra": {"secret": 1}}, "not extra merge data"),
    ({"extra": {"meeting": {"date": "x", "colour": "red"}}}, "takes only"),
    ({"kind": "stage_2"}, "no 'Stage 2"),
])
def test_bad_requests_write_nothing(lw, kwargs, message):
    with scope(school=lw.school):
        args = {"school": lw.school, "pupil": lw.families[0].pupil, "kind": "stage_1", "by": lw.officer,
                "approved_by": lw.officer, **kwargs}
        with pytest.raises(ValueError, match=message):
            services.letter_request(**args)
        assert Letter.objects.count() == 0 and LetterBatch.objects.count() == 0


def test_a_pupil_without_a_parent_with_responsibility_is_refused(lw):
    with scope(school=lw.school):
        pupil = f.EnrolmentFactory(pupil__school=lw.school).pupil
        with pytest.raises(ValueError, match="no parent with parental responsibility"):
            services.letter_request(school=lw.school, pupil=pupil, kind="stage_1", by=lw.officer,
                                    approved_by=lw.officer)
        other = f.GuardianFactory(school=lw.school)
        with pytest.raises(ValueError, match="must be a contact"):
            services.letter_request(school=lw.school, pupil=lw.families[0].pupil, kind="stage_1", by=lw.officer,
                                    approved_by=lw.officer, recipients=[other])


def test_parent_language_chooses_the_template_with_english_fallback(lw):
    with scope(school=lw.school):
        fam = make_family(lw.school, 7, parents=2)
        RecipientDetails.objects.filter(guardian=fam.parents[0]).update(language="pl")
        RecipientDetails.objects.filter(guardian=fam.parents[1]).update(language="ro")
        polish = services.template_save(school=lw.school, kind="stage_1", language="pl", by=lw.officer,
                                        subject="Frekwencja {{ pupil.forename }}", body="Szanowni Państwo")
        letters = request(lw, fam, [])
        assert [letter.template for letter in letters] == [polish, lw.template]


def test_sweeper_reenqueues_what_was_left_once_per_lease(lw, monkeypatch):
    sent = []
    monkeypatch.setattr("letters.tasks.letter_process.apply_async", lambda kwargs, queue: sent.append(kwargs))
    monkeypatch.setattr("letters.tasks.batch_finish_task.apply_async", lambda kwargs, queue: sent.append(kwargs))
    with scope(school=lw.school):
        [letter] = request(lw, lw.families[0], [])
    assert services.letters_sweep() == 0  # fresh work is left to its own message
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings_lease() + 1)
    assert services.letters_sweep(now=later) == 2
    assert {"school_id": lw.school.pk, "letter_id": letter.pk} in sent
    assert {"school_id": lw.school.pk, "batch_id": letter.batch_id} in sent
    assert services.letters_sweep(now=later + dt.timedelta(seconds=1)) == 1  # the letter waits a lease again


def test_a_letter_asked_for_while_the_queue_is_down_is_kept_and_swept_later(lw, monkeypatch,
                                                                             django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    def down(kwargs, queue):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("letters.tasks.letter_process.apply_async", down)
    with scope(school=lw.school), django_capture_on_commit_callbacks(execute=True):
        [letter] = request(lw, lw.families[0], [])  # no exception: the action stands
    with scope(school=lw.school):
        letter.refresh_from_db()
        assert letter.status == Letter.Status.QUEUED
    sent = []
    monkeypatch.setattr("letters.tasks.letter_process.apply_async", lambda kwargs, queue: sent.append(kwargs))
    monkeypatch.setattr("letters.tasks.batch_finish_task.apply_async", lambda kwargs, queue: None)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings_lease() + 1)
    services.letters_sweep(now=later)
    assert sent == [{"school_id": lw.school.pk, "letter_id": letter.pk}]
