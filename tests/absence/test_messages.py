"""Family messages: wording from templates, claimed once, retried with back-off, swept, once a day by constraint."""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
import time
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, connections, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from absence import notifications, services, tasks
from absence.models import SentMessage
from absence.notifications import backoff, message_compose, message_queue, message_send, messages_sweep
from registers.services import MarkEntry, marks_save

from .conftest import MONDAY, at
from .factories import family
from .messages import messages_deliver

pytestmark = pytest.mark.django_db


class DisconnectingMail(BaseEmailBackend):
    """A relay that drops the connection: transient."""

    def send_messages(self, email_messages: Sequence[object]) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class RefusingMail(BaseEmailBackend):
    """A relay that refuses the address outright: permanent."""

    def send_messages(self, email_messages: Sequence[object]) -> int:
        raise smtplib.SMTPRecipientsRefused({"nobody@example.org": (550, b"5.1.1 No such user")})


CONTEXT = {"school": "Alder Primary", "child": "Sam", "parent": "Jo Bloggs", "reference": "AK7Q2ZP",
           "first": dt.date(2025, 9, 8), "last": dt.date(2025, 9, 9), "sessions": "whole day",
           "reason": "illness", "late": True, "accepted": True, "granted": True, "note": "Enjoy the concert.",
           "day": dt.date(2025, 9, 8), "days": 3, "since": dt.date(2025, 9, 8),
           "link": "http://testserver/accounts/invitations/~invitation.1~/", "hours": 72}


def _queue(school, to="jo@example.org", **kw):
    with scope(school=school):
        return message_queue(school=school, kind="receipt", to=to, context=CONTEXT, **kw)


# ---------------------------------------------------------------- wording


@pytest.mark.parametrize("kind", list(SentMessage.Kind.values))
def test_every_kind_is_worded_in_plain_english_from_its_templates(kind):
    subject, body = message_compose(kind=kind, context=CONTEXT)
    assert subject and "\n" not in subject and body.startswith("Dear Jo Bloggs,\n\n")
    assert body.rstrip().endswith("Alder Primary") and "\n\n\n" not in body
    for leftover in ("{{", "{%", "_date", "_display", "None", "True", "False", "code"):
        assert leftover not in subject + body, (kind, leftover)


def test_receipt_says_what_was_reported_and_a_late_report_is_still_welcome():
    subject, body = message_compose(kind="receipt", context=CONTEXT)
    assert subject == "We have your absence report for Sam (AK7Q2ZP)"
    assert ("Thank you for letting us know that Sam will be away from school from Monday 8 September 2025 to "
            "Tuesday 9 September 2025 (whole day). The reason you gave: illness.") in body
    assert "after the register closed. That is fine" in body
    _, one_day = message_compose(kind="receipt", context={**CONTEXT, "last": CONTEXT["first"], "late": False,
                                                          "parent": ""})
    assert one_day.startswith("Hello,") and "on Monday 8 September 2025 (whole day)" in one_day
    assert "register closed" not in one_day


def test_refusals_give_the_schools_reason_and_a_way_to_talk():
    _, body = message_compose(kind="leave_decided", context={**CONTEXT, "granted": False, "note": "Not exceptional"})
    assert "has not been able to grant leave for Sam" in body and "The reason: Not exceptional" in body
    assert "recorded as unauthorised" in body and "contact the school office" in body
    _, body = message_compose(kind="report_decided", context={**CONTEXT, "accepted": False, "note": "Seen in town"})
    assert "could not accept" in body and "What the school said: Seen in town" in body


def test_text_message_has_no_subject():
    assert message_compose(kind="unexplained", context=CONTEXT, channel="sms") == (
        "", "Alder Primary: Sam is not in school today and we have not heard why. Please report the absence in "
            "the parent portal or phone the school office.")


# ---------------------------------------------------------------- sending once, retrying, failing


def test_a_message_is_claimed_and_sent_once(world):
    message = _queue(world.school, to=" Jo@Example.org ")
    assert message.to == "jo@example.org"
    with scope(school=world.school):
        assert message_send(school_id=world.school.pk, message_id=message.pk).sent is True
        assert message_send(school_id=world.school.pk, message_id=message.pk).sent is False  # a redelivered task
        message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 1 and message.sent_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].extra_headers["Message-ID"] == \
        f"<family-message-{message.pk}@attendance>"


def test_another_schools_task_cannot_send_the_message(world):
    message = _queue(world.school)
    with scope(school=world.other):
        assert message_send(school_id=world.other.pk, message_id=message.pk).sent is False
    assert not mail.outbox


def test_back_off_doubles_and_is_capped(settings):
    settings.MESSAGES_RETRY_SECONDS, settings.MESSAGES_RETRY_MAX_SECONDS = 30, 300
    assert [backoff(n) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_a_dropped_connection_is_retried_with_back_off_then_given_up(world, settings):
    settings.EMAIL_BACKEND = "tests.absence.test_messages.DisconnectingMail"
    settings.MESSAGES_MAX_ATTEMPTS = 3
    message = _queue(world.school)
    now = timezone.now()
    delays = []
    with scope(school=world.school):
        for _attempt in range(3):
            result = message_send(school_id=world.school.pk, message_id=message.pk, now=now)
            delays.append(result.retry_in)
            message.refresh_from_db()
            if result.retry_in:
                assert message.status == "queued" and message.enqueued_at == now + dt.timedelta(seconds=result.retry_in)
                now += dt.timedelta(seconds=result.retry_in)
    assert delays == [30, 60, None]
    assert message.status == "failed" and message.attempts == 3 and "SMTPServerDisconnected" in message.error


def test_a_refused_address_fails_at_once_with_the_error(world, settings):
    settings.EMAIL_BACKEND = "tests.absence.test_messages.RefusingMail"
    message = _queue(world.school, to="nobody@example.org")
    with scope(school=world.school):
        assert message_send(school_id=world.school.pk, message_id=message.pk).retry_in is None
        message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 1 and "No such user" in message.error


def test_the_task_retries_a_transient_failure_after_the_back_off(world, settings, monkeypatch):
    settings.EMAIL_BACKEND = "tests.absence.test_messages.DisconnectingMail"
    message = _queue(world.school)
    asked = []

    def retry(**kwargs):
        asked.append(kwargs)
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.message_send, "retry", retry)
    with pytest.raises(RuntimeError, match="retry"):
        tasks.message_send(school_id=world.school.pk, message_id=message.pk)
    assert asked == [{"countdown": 30}]


# ---------------------------------------------------------------- the sweeper


@pytest.fixture
def queue_calls(monkeypatch):
    """What the sweeper sends to the queue; `up` says whether the broker answers."""
    calls: list[dict[str, object]] = []
    state = {"up": True}

    def send(task, *, queue=None, **kwargs):
        if not state["up"]:
            return False
        calls.append({"task": task.name, "queue": queue, **kwargs})
        return True

    monkeypatch.setattr(notifications, "task_send", send)
    return SimpleNamespace(calls=calls, state=state)


def test_a_message_whose_task_never_reached_the_queue_goes_at_the_next_sweep(world, queue_calls):
    queue_calls.state["up"] = False
    message = _queue(world.school)
    assert notifications.messages_enqueue([(world.school.pk, message.pk)]) == 0
    with scope(school=world.school):
        message.refresh_from_db()
    assert message.enqueued_at is None and message.status == "queued"
    assert messages_sweep() == 0  # still down: left for the sweep after
    with scope(school=world.school):
        message.refresh_from_db()
    assert message.enqueued_at is None
    queue_calls.state["up"] = True
    assert messages_sweep() == 1
    assert queue_calls.calls == [{"task": "absence.message_send", "queue": "celery", "school_id": world.school.pk,
                                  "message_id": message.pk}]
    assert messages_sweep() == 0  # just sent: not again until the lease has passed


def test_a_claim_whose_worker_died_is_taken_over_after_the_lease(world, queue_calls, settings):
    settings.MESSAGES_LEASE_SECONDS = 300
    message = _queue(world.school)
    now = timezone.now()
    with scope(school=world.school):  # a worker claims it, then dies before sending
        SentMessage.objects.filter(pk=message.pk).update(status="sending", claim="dead", claimed_at=now, attempts=1,
                                                         enqueued_at=now)
        assert message_send(school_id=world.school.pk, message_id=message.pk, now=now).sent is False  # still held
    assert messages_sweep(now=now + dt.timedelta(seconds=200)) == 0
    later = now + dt.timedelta(seconds=301)
    assert messages_sweep(now=later) == 1 and len(queue_calls.calls) == 1
    with scope(school=world.school):
        assert message_send(school_id=world.school.pk, message_id=message.pk, now=later).sent is True
        message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2 and len(mail.outbox) == 1


def test_a_message_too_old_to_be_useful_is_marked_failed_not_sent_late(world, queue_calls, settings):
    settings.MESSAGES_SEND_WITHIN_HOURS = 24
    message = _queue(world.school)
    assert messages_sweep(now=timezone.now() + dt.timedelta(hours=25)) == 0
    with scope(school=world.school):
        message.refresh_from_db()
    assert message.status == "failed" and "not sent late" in message.error and not queue_calls.calls


def test_beat_runs_the_sweeper_every_minute():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["absence-messages-sweep"] == {"task": "absence.messages_sweep",
                                                                       "schedule": 60.0}
    assert tasks.messages_sweep.name == "absence.messages_sweep"


# ---------------------------------------------------------------- once a day, by constraint


def test_the_same_days_message_twice_is_one_row_and_the_callers_work_stands(world):
    pupil, _, _ = family(world.school, email="p@example.org")
    with scope(school=world.school), transaction.atomic():
        first = message_queue(school=world.school, kind="unexplained", to="p@example.org", context=CONTEXT,
                              pupil=pupil, about_date=MONDAY)
        again = message_queue(school=world.school, kind="unexplained", to="P@example.org", context=CONTEXT,
                              pupil=pupil, about_date=MONDAY)
        other_day = message_queue(school=world.school, kind="unexplained", to="p@example.org", context=CONTEXT,
                                  pupil=pupil, about_date=MONDAY + dt.timedelta(days=1))
        assert first is not None and again is None and other_day is not None
        assert SentMessage.objects.count() == 2  # the transaction is still usable


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_family_one_message(world, calendar):
    """Two transactions race past the look-up; the unique constraint lets one row in, the other skips."""
    with scopes_disabled():
        pupil, _, _ = family(world.school, email="p@example.org")
    with scope(school=world.school):
        marks_save(school=world.school, by=None, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "N")])
    first_inserted = threading.Event()
    results: dict[str, object] = {}

    def other_is_waiting() -> bool:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the view is read once per transaction
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND state = 'active' AND wait_event_type = 'Lock'")
            return cursor.fetchone()[0] > 0

    def run(name: str) -> None:
        try:
            if name == "second":
                first_inserted.wait(10)
            with scope(school=world.school), transaction.atomic():
                results[name] = services.unexplained_notify(school=world.school, now=at(MONDAY, 9, 45))
                if name == "first":
                    first_inserted.set()
                    deadline = time.monotonic() + 10
                    while not other_is_waiting() and time.monotonic() < deadline:
                        time.sleep(0.05)
                    results["second was blocked"] = other_is_waiting()
        except Exception as exc:  # reported below, not lost in the thread
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results["second was blocked"] is True, results
    assert results["first"] == services.NotifyResult(pupils=1, messages=2), results
    assert results["second"] == services.NotifyResult(pupils=0, messages=0), results
    with scope(school=world.school):
        rows = list(SentMessage.objects.filter(kind="unexplained").values_list("channel", "about_date"))
    assert sorted(rows) == [("email", MONDAY), ("sms", MONDAY)]  # one email and one text to the one parent
    assert messages_deliver() == 2 and len(mail.outbox) == 1
