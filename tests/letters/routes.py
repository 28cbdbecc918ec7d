"""Every letters route, with objects built in the school under test."""

from __future__ import annotations

from django_scopes import scope

from letters import services
from letters.defaults import templates_install_defaults
from letters.models import Letter, LetterBatch
from tests import factories as f
from tests.routes import Route


def letter_in(school, *, user=None, sent=False) -> Letter:
    """A stage-1 letter about a new pupil of this school, to that pupil's parent (`user` if given)."""
    templates_install_defaults(school=school, kinds=["stage_1"])
    contact = f.PupilContactFactory(pupil=f.EnrolmentFactory(pupil__school=school).pupil)
    if user is not None:
        contact.guardian.user = user
        contact.guardian.save()
    officer = f.UserFactory()
    with scope(school=school):
        [letter] = services.letter_request(school=school, pupil=contact.pupil, kind="stage_1", by=officer,
                                           approved_by=officer)
        if sent:
            services.letter_process(letter_id=letter.pk)
            letter.refresh_from_db()
    return letter


def _letter(school):
    return {"letter_id": letter_in(school).pk}


def _stale(school):
    letter = letter_in(school)
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.STALE)
    return {"letter_id": letter.pk}


def _batch(school):
    return {"batch_id": letter_in(school).batch_id}


def _printed(school):
    letter = letter_in(school, sent=True)
    return {"batch_id": LetterBatch.objects.get(pk=letter.batch_id).pk}


def _pk(school):
    return {"pk": letter_in(school).pk}


def _batch_pk(school):
    return {"pk": letter_in(school).batch_id}


def _pupils(school):
    pupil = f.PupilContactFactory(pupil=f.EnrolmentFactory(pupil__school=school).pupil).pupil
    return {"kind": "stage_1", "pupils": [pupil.pk]}


ROUTES: list[Route] = [
    Route("letters:log"),
    Route("letters:log_csv"),
    Route("letters:letter", make=_letter),
    Route("letters:letter_pdf", make=lambda s: {"letter_id": letter_in(s, sent=True).pk}),
    Route("letters:regenerate", method="post", make=_stale),
    Route("letters:reapprove", method="post", make=_stale),
    Route("letters:templates"),
    Route("letters:template_edit", data=lambda s: {"kind": "stage_1", "language": "en"}),
    Route("letters:template_preview", method="post",
          data=lambda s: {"kind": "stage_1", "language": "en", "subject": "x", "body": "y"}),
    Route("letters:batches"),
    Route("letters:batch_new"),
    Route("letters:batch_review", method="post", data=_pupils),
    Route("letters:batch_approve", method="post", data=_pupils),
    Route("letters:batch", make=_batch),
    Route("letters:batch_progress", make=_batch),
    Route("letters:batch_print", make=_printed),
    Route("parent_letters:pdf", kind="parent",
          make=lambda s: {"letter_id": letter_in(s, user=f.UserFactory(), sent=True).pk}),
    Route("api:letter-list", api=True),
    Route("api:letter-detail", make=_pk, api=True),
    Route("api:letter-batch-list", api=True),
    Route("api:letter-batch-detail", make=_batch_pk, api=True),
]
