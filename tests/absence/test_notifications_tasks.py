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
from absence.notifications import message_deliver, message_queue
from registers.models import SchoolPolicy
from registers.services import MarkEntry, marks_save
from tests import factories as f

from .conftest import MONDAY, at
from .factories import family

pytestmark = pytest.mark.django_db


class BrokenSms:
    def send(self, *, to: str, body: str) -> None:
        raise ConnectionError("gateway down")


def test_sms_goes_through_the_logging_backend_and_is_stored(world, caplog, django_capture_on_commit_callbacks):
    with scope(school=world.school), caplog.at_level(logging.INFO, logger="absence.notifications"):
        with django_capture_on_commit_callbacks(execute=True):
            message = message_queue(school=world.school, kind="unexplained", to="07700 900123", body="Hello",
                                    channel=SentMessage.Channel.SMS)
        message.refresh_from_db()
        assert message.status == "sent" and message.sent_at is not None
    assert "SMS to 07700 900123: Hello" in caplog.text
    assert not mail.outbox


@override_settings(ABSENCE_SMS_BACKEND="tests.absence.test_notifications_tasks.BrokenSms")
def test_a_failed_send_is_recorded_not_raised(world, django_capture_on_commit_callbacks):
    with scope(school=world.school):
        with django_capture_on_commit_callbacks(execute=True):
            message = message_queue(school=world.school, kind="unexplained", to="07700 900123", body="Hello",
                                    channel=SentMessage.Channel.SMS)
        message.refresh_from_db()
        assert message.status == "failed" and "gateway down" in message.error
        message_deliver(message_id=message.pk)  # a failed message is not retried blindly
        message.refresh_from_db()
        assert message.status == "failed"


def test_a_message_is_not_sent_when_the_action_rolls_back(world, django_capture_on_commit_callbacks):
    from django.db import transaction

    with scope(school=world.school), django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                message_queue(school=world.school, kind="receipt", to="a@example.org", body="x", subject="y")
                raise RuntimeError("user action failed")
        except RuntimeError:
            pass
        assert not SentMessage.objects.exists()
    assert not callbacks and not mail.outbox


def test_unexplained_task_runs_in_the_schools_scope(world, calendar, django_capture_on_commit_callbacks):
    pupil, _, _ = family(world.school, email="p@example.org")
    with scope(school=world.school):
        marks_save(school=world.school, by=None, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")])
    with time_machine.travel(at(MONDAY, 9, 45), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.unexplained_notify(school_id=world.school.pk) == {"pupils": 1, "messages": 2}
        assert tasks.unexplained_notify(school_id=world.school.pk) == {"pupils": 0, "messages": 0}
    assert len(mail.outbox) == 1


def test_medical_evidence_sweep_raises_one_request(world, calendar):
    SchoolPolicy.objects.create(school=world.school, effective_from=dt.date(2025, 9, 1),
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
    monkeypatch.setattr(tasks.medical_evidence_sweep, "delay", lambda *, school_id: sent.append(school_id))
    assert tasks.fan_out.apply(args=["medical_evidence_sweep"]).get() == 4
    assert sorted(sent) == sorted([world.school.pk, world.sister.pk, world.other.pk, world.standalone.pk])


def test_beat_schedule_names_real_tasks():
    from django.conf import settings

    from attendance_portal.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
