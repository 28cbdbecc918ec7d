"""Redis goes away during marking and parent reports (3 s in the suite, 120 s under `make faults`).

Every register save succeeds while it is down (nothing on the save path needs Redis); the parents' reports
are kept and their receipts, and a batch of letters approved meanwhile, wait as rows. When Redis is back a
real worker and the sweepers (beat's job, called here) deliver every message and letter exactly once.
Redis is a `redis-server` of the scenario's own, killed with SIGKILL (tests/absence/test_messages_outage.py).
"""

from __future__ import annotations

import datetime as dt
import email
import os
import time
import uuid

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from absence.models import SentMessage
from absence.notifications import messages_sweep
from letters import services as letters
from letters.demo import families_bulk_create
from letters.models import Letter, LetterBatch, LetterTemplate
from registers.calendar import school_sessions
from tests.absence.conftest import at
from tests.absence.factories import family
from tests.absence.test_messages_outage import SEND_WITHIN_HOURS
from tests.conftest import add_calendar
from tests.registers.conftest import make_class
from tests.registers.test_register_page import form
from tests.workers import worker_kill, worker_start

from . import say, scale

pytestmark = pytest.mark.django_db(transaction=True)
TODAY = dt.date(2026, 7, 17)  # the last Friday of add_calendar's 2025/26: a year of registers behind it


def test_redis_down_during_marking_and_reports_loses_and_repeats_nothing(world, client_as, redis, tmp_path,
                                                                           settings):
    down, parents, letter_count = scale(3, 120), scale(3, 20), scale(5, 40)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    settings.MESSAGES_QUEUE = settings.LETTERS_QUEUE = queue
    settings.MESSAGES_SEND_WITHIN_HOURS, settings.LETTERS_LEASE_SECONDS = SEND_WITHIN_HOURS, 3
    school, office, officer = world.school, world.users["office_staff"], world.users["attendance_officer"]
    mailbox = tmp_path / "mail"
    mailbox.mkdir()
    with scopes_disabled():
        add_calendar(school)
        families = [family(school, username=f"parent{n}@example.org", email=f"parent{n}@example.org")
                    for n in range(parents)]
        LetterTemplate.objects.create(school=school, kind="stage_1", version=1, subject="{{ pupil.name }}",
                                      body="{{ pupil.forename }} has attended {{ figures.attendance_percent }}%.")
        addressees = families_bulk_create(school=school, count=letter_count, email=lambda n: f"carer{n}@example.org",
                                          upn_prefix="F000000")
    group, pupils = make_class(school, 30, calendar=False)
    register = client_as(office)
    with scope(school=school):
        registers = [(day, session) for day, session in school_sessions(school=school, start=dt.date(2025, 9, 3),
                                                                         end=TODAY - dt.timedelta(days=1))]

    redis.kill()
    saves = reports = 0
    started = time.monotonic()
    with time_machine.travel(at(TODAY, 8, 15), tick=True):
        for pupil, _, user in families:  # parents report while Redis is down
            response = client_as(user).post(reverse("parent:report"), {
                "child": pupil.pk, "first_date": TODAY.isoformat(), "last_date": TODAY.isoformat(),
                "sessions": "BOTH", "category": "illness", "message": "Temperature overnight"})
            assert response.status_code == 302, response.content.decode()[:500]
            reports += 1
        with scope(school=school), transaction.atomic():  # the officer approves a batch of letters
            batch = letters.letters_create(school=school, kind="stage_1", by=officer, approved_by=officer,
                                           items=[letters.LetterItem(pupil=p) for p in addressees])
        while (time.monotonic() - started < down or saves < 2) and saves < len(registers):
            day, session = registers[saves]  # and registers are marked all the while
            response = register.post(reverse("registers:register", kwargs={
                "school_slug": school.slug, "group_id": group.pk, "date": day, "session": session}),
                form(pupils, code="/" if session == "AM" else "\\"), HTTP_HX_REQUEST="true")
            assert response.status_code == 200 and "Register saved: 30 marks" in response.content.decode(), \
                response.content.decode()[:500]
            saves += 1
            assert messages_sweep() == 0  # nothing can go yet, and nothing is lost
            time.sleep(0.2)
        time.sleep(max(0.0, down - (time.monotonic() - started)))
    outage = time.monotonic() - started
    with scopes_disabled():
        assert set(SentMessage.objects.values_list("status", flat=True)) == {SentMessage.Status.QUEUED}
        assert set(Letter.objects.filter(batch=batch).values_list("status", flat=True)) != {Letter.Status.SENT}
    assert not list(mailbox.iterdir())

    redis.start()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings", "REDIS_URL": redis.url,
           "FAULTS_TEST_DATABASE": connection.settings_dict["NAME"], "LETTERS_MAILBOX": str(mailbox),
           "MESSAGES_QUEUE": queue, "LETTERS_QUEUE": queue, "LETTERS_LEASE_SECONDS": "3",
           "MESSAGES_SEND_WITHIN_HOURS": str(SEND_WITHIN_HOURS)}
    log = tmp_path / "worker.log"
    worker = worker_start(env, log, queue=queue, pool="prefork", concurrency=2)
    back = time.monotonic()
    try:
        while time.monotonic() - back < 300:
            with scopes_disabled():
                waiting = SentMessage.objects.exclude(status=SentMessage.Status.SENT).count()
                done = LetterBatch.objects.filter(pk=batch.pk, status=LetterBatch.Status.DONE).exists()
            if not waiting and done:
                break
            messages_sweep()  # what beat does every minute
            letters.letters_sweep()
            time.sleep(0.5)
        time.sleep(2)  # anything sent twice would arrive now
    finally:
        worker_kill(worker)
    delivered = time.monotonic() - back

    with scopes_disabled():
        messages = list(SentMessage.objects.all())
        batch.refresh_from_db()
        sent_letters = list(Letter.objects.filter(batch=batch))
        marks = sum(1 for _ in pupils for _ in range(saves))
    assert batch.status == LetterBatch.Status.DONE, log.read_text()[-3000:]
    assert {m.status for m in messages} == {SentMessage.Status.SENT} and len(messages) >= reports
    assert {letter.status for letter in sent_letters} == {Letter.Status.SENT} and len(sent_letters) == letter_count
    ids = [email.message_from_bytes(p.read_bytes())["Message-ID"] for p in mailbox.iterdir()]
    expected = {f"<family-message-{m.pk}@attendance>" for m in messages if m.channel == SentMessage.Channel.EMAIL}
    assert len(ids) == len(set(ids)), "an e-mail was sent twice"
    assert expected <= set(ids)
    assert len([i for i in ids if i.startswith("<letter-")]) == letter_count
    say(f"Redis down {outage:.0f}s: {saves} register saves ({marks} marks) all succeeded, {reports} parent reports "
        f"and a batch of {letter_count} letters kept; back up: {len(messages)} messages and {letter_count} letters "
        f"delivered in {delivered:.0f}s, {len(ids)} e-mails, each exactly once")
