"""The pluggable sender (email, SMS interface with a logging backend) and the background tasks."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django_scopes import scope

from absence import tasks
from absence.models import MedicalEvidenceRequest, SentMessage
from absence.notifications import TransientSendError, message_queue
from absence.notifications import message_send as send
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import MONDAY, at
from .factories import family
from .messages import messages_deliver

pytestmark = pytest.mark.django_db


class BrokenSms:
    def send(self, *, to: str, body: str) -> None:
        raise ValueError("not a mobile number")


class BusySms:
    def send(self, *, to: str, body: str) -> None:
        raise TransientSendError("gateway busy")


TEXT = {"school": "Alder Primary", "child": "Sam"}


def test_sms_goes_through_the_logging_backend_and_is_stored(world, caplog):
    with scope(school=world.school):
        message = message_queue(school=world.school, kind="unexplained", to="07700 900123", context=TEXT,
                                channel=SentMessage.Channel.SMS)
    with caplog.at_level(logging.INFO, logger="absence.notifications"):
        assert messages_deliver() == 1
    with scope(school=world.school):
        message.refresh_from_db()
        assert message.status == "sent" and message.sent_at is not None
    assert "SMS to 07700 900123: Alder Primary: Sam is not in school today" in caplog.text
    assert not mail.outbox


@override_settings(ABSENCE_SMS_BACKEND="tests.absence.test_notifications_tasks.BrokenSms")
def test_a_permanent_failure_is_recorded_not_raised_nor_retried(world):
    with scope(school=world.school):
        message = message_queue(school=world.school, kind="unexplained", to="07700 900123", context=TEXT,
                                channel=SentMessage.Channel.SMS)
    messages_deliver()
    with scope(school=world.school):
        message.refresh_from_db()
        assert message.status == "failed" and "not a mobile number" in message.error
        assert message.attempts == 1
        assert send(school_id=world.school.pk, message_id=message.pk).sent is False  # not tried again
        message.refresh_from_db()
        assert message.status == "failed" and message.attempts == 1


@override_settings(ABSENCE_SMS_BACKEND="tests.absence.test_notifications_tasks.BusySms")
def test_a_transient_failure_is_tried_again_later(world):
    with scope(school=world.school):
        message = message_queue(school=world.school, kind="unexplained", to="07700 900123", context=TEXT,
                                channel=SentMessage.Channel.SMS)
        result = send(school_id=world.school.pk, message_id=message.pk)
        message.refresh_from_db()
    assert result.retry_in == 30 and result.sent is False
    assert message.status == "queued" and "gateway busy" in message.error and message.attempts == 1


def test_a_message_is_not_sent_when_the_action_rolls_back(world, django_capture_on_commit_callbacks):
    from django.db import transaction

    with scope(school=world.school), django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                message_queue(school=world.school, kind="unexplained", to="a@example.org", context=TEXT)
                raise RuntimeError("user action failed")
        except RuntimeError:
            pass
        assert not SentMessage.objects.exists()
    assert not callbacks and not mail.outbox


def test_unexplained_task_runs_in_the_schools_scope(world, calendar, django_capture_on_commit_callbacks):
    pupil, _, _ = family(world.school, email="p@example.org")
    with scope(school=world.school):
        marks_save(school=world.school, by=None, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")])
    with time_machine.travel(at(MONDAY, 9, 45), tick=False):
        with django_capture_on_commit_callbacks() as callbacks:
            assert tasks.unexplained_notify(school_id=world.school.pk) == {"pupils": 1, "messages": 2}
            assert tasks.unexplained_notify(school_id=world.school.pk) == {"pupils": 0, "messages": 0}
        assert len(callbacks) == 1  # one task per message, sent when the run's work is committed
        assert messages_deliver() == 2
    assert len(mail.outbox) == 1


def test_medical_evidence_sweep_raises_one_request(world, calendar):
    f.SchoolPolicyFactory(school=world.school, effective_from=dt.date(2025, 9, 1),
                                medical_evidence_after_days=3)
    ill = f.EnrolmentFactory(pupil__school=world.school).pupil
    well = f.EnrolmentFactory(pupil__school=world.school).pupil
    days = [dt.date(2025, 9, 8), dt.date(2025, 9, 9), dt.date(2025, 9, 10)]
    with scope(school=world.school):
        marks_save(school=world.school, by=None, entries=[
            *[MarkEntry(ill.pk, d, s, "I") for d in days for s in ("AM", "PM")],
            *[MarkEntry(well.pk, d, s, "I" if d != days[1] else ("/" if s == "AM" else "\\"))
              for d in days for s in ("AM", "PM")],
        ])
    with time_machine.travel(at(days[2], 18), tick=False):
        assert tasks.medical_evidence_sweep(school_id=world.school.pk) == 1
        assert tasks.medical_evidence_sweep(school_id=world.school.pk) == 0
    with scope(school=world.school):
        assert list(MedicalEvidenceRequest.objects.values_list("pupil_id", "days")) == [(ill.pk, 3)]


def test_task_without_school_id_is_refused():
    with pytest.raises(TypeError, match="school_id"):
        tasks.unexplained_notify()


def test_fan_out_sends_one_task_per_school(world, monkeypatch):
    from absence import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.medical_evidence_sweep, "apply_async",
                        lambda kwargs, **options: sent.append(kwargs["school_id"]))
    assert tasks.fan_out.apply(args=["medical_evidence_sweep"]).get() == 4
    assert sorted(sent) == sorted([world.school.pk, world.sister.pk, world.other.pk, world.standalone.pk])


def test_beat_schedule_names_real_tasks():
    from django.conf import settings

    from attendance_portal.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
