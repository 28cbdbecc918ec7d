"""Exactly once: a batch of letters on a real Celery worker process that is killed mid-batch, several times
(200 letters and 4 kills in the suite; 500 letters and 10 kills under `make faults`).

The worker is started as `celery worker` in its own process group and killed with SIGKILL (no warm shutdown,
prefetched and running tasks die with it); the beat sweeper's job is done by calling the sweeper here every
second. At the end every letter is made and sent exactly once: one PDF each on disk and no stray files, one
send per channel, and one e-mail per letter sent by e-mail in the mailbox the worker wrote to.
"""

from __future__ import annotations

import email
import os
import random
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django_scopes import scope, scopes_disabled

from letters import services
from letters.demo import families_bulk_create
from letters.models import Letter, LetterBatch, LetterSend, LetterTemplate
from tests.faults import say, scale
from tests.workers import worker_kill, worker_start

from .helpers import pdf_pages

LETTERS = scale(200, 500)
KILLS = scale(4, 10)
LEASE = 3
ONE_PAGE = """{{ pupil.forename }} has attended {{ figures.attendance_percent }}% of sessions this year.

Please contact {{ school.attendance_lead }} if we can help."""


def _email(n: int) -> str:
    """Every tenth parent has no e-mail (post); every twentieth address bounces (e-mail fails, then post)."""
    return "" if n % 10 == 0 else f"{'bounce' if n % 20 == 5 else 'parent'}{n}@example.org"


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return worker_start(env, log, queue=env["LETTERS_QUEUE"], pool="prefork", concurrency=2)


_kill = worker_kill


@pytest.mark.django_db(transaction=True)
def test_killed_workers_still_send_every_letter_exactly_once(world, tmp_path, settings):
    queue = f"letters-test-{uuid.uuid4().hex[:8]}"
    settings.LETTERS_QUEUE, settings.LETTERS_LEASE_SECONDS = queue, LEASE
    school, officer = world.school, world.users["attendance_officer"]
    mailbox = tmp_path / "mail"
    mailbox.mkdir()
    with scopes_disabled():
        LetterTemplate.objects.create(school=school, kind="stage_1", version=1, subject="{{ pupil.name }}",
                                      body=ONE_PAGE)
        pupils = families_bulk_create(school=school, count=LETTERS, email=_email, upn_prefix="L000000")
    with scope(school=school), transaction.atomic():  # the caller's transaction: tasks go when it commits
        batch = services.letters_create(school=school, kind="stage_1", by=officer, approved_by=officer,
                                        items=[services.LetterItem(pupil=p) for p in pupils])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.letters.worker_settings",
           "LETTERS_TEST_DATABASE": connection.settings_dict["NAME"], "LETTERS_MAILBOX": str(mailbox),
           "LETTERS_QUEUE": queue, "LETTERS_LEASE_SECONDS": str(LEASE)}
    log = tmp_path / "worker.log"
    # Kill points spread over the batch, so each kill lands while letters are being made and sent.
    kill_points = sorted(random.Random(7).sample(range(10, LETTERS - 20), KILLS))
    worker = _worker(env, log)
    kills_at: list[int] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < scale(300, 900):
            time.sleep(0.5)
            with scopes_disabled():
                settled = Letter.objects.filter(batch=batch, status=Letter.Status.SENT).count()
                done = LetterBatch.objects.filter(pk=batch.pk, status=LetterBatch.Status.DONE).exists()
            if done:
                break
            if len(kills_at) < KILLS and settled >= kill_points[len(kills_at)]:
                _kill(worker)
                kills_at.append(settled)
                worker = _worker(env, log)
            services.letters_sweep()
    finally:
        _kill(worker)
    elapsed = time.monotonic() - started
    assert len(kills_at) == KILLS and 0 < kills_at[0] and kills_at[-1] < LETTERS, (kills_at, log.read_text()[-3000:])

    with scopes_disabled():
        batch.refresh_from_db()
        letters = list(Letter.objects.filter(batch=batch))
        sends = list(LetterSend.objects.filter(letter__batch=batch))
    assert batch.status == LetterBatch.Status.DONE, (elapsed, log.read_text()[-3000:])
    assert len(letters) == LETTERS and {letter.status for letter in letters} == {Letter.Status.SENT}

    # One PDF per letter, its SHA-256 as recorded, and nothing else left by the killed workers.
    folder = f"letters/{school.pk}"
    files = sorted(default_storage.listdir(folder)[1])
    assert sorted(f"{folder}/{name}" for name in files if not name.startswith("print-")) == \
        sorted(letter.pdf for letter in letters)
    assert len([n for n in files if n.startswith("print-")]) == 1

    # Sends: one per channel per letter.
    by_channel: dict[str, int] = {}
    for send in sends:
        by_channel[f"{send.channel}:{send.ok}"] = by_channel.get(f"{send.channel}:{send.ok}", 0) + 1
    no_email = sum(1 for n in range(LETTERS) if n % 10 == 0)
    bounced = sum(1 for n in range(LETTERS) if n % 20 == 5)
    assert len({(s.letter_id, s.channel) for s in sends}) == len(sends)
    assert by_channel == {"portal:True": LETTERS, "email:True": LETTERS - no_email - bounced,
                          "email:False": bounced, "post:True": no_email + bounced}

    # E-mails: exactly one per letter sent by e-mail, each with its letter's PDF.
    messages = [email.message_from_bytes(p.read_bytes()) for p in mailbox.iterdir()]
    ids = [m["Message-ID"] for m in messages]
    assert len(messages) == LETTERS - no_email - bounced and len(set(ids)) == len(ids)
    expected = {f"<letter-{letter.pk}-{letter.pdf_sha256[:12]}@attendance>" for letter in letters
                if any(s.letter_id == letter.pk and s.channel == "email" and s.ok for s in sends)}
    assert set(ids) == expected

    # The print file holds the posted letters, in envelope order.
    with default_storage.open(batch.print_file, "rb") as handle:
        assert pdf_pages(handle.read()) == sum(letter.pages for letter in letters
                                               if any(s.letter_id == letter.pk and s.channel == "post" for s in sends))
    assert batch.print_letters == no_email + bounced
    (Path(django_settings.BASE_DIR) / "var" / "letters-exactly-once.txt").write_text(
        f"{LETTERS} letters, kills when {kills_at} were sent, done in {elapsed:.1f}s\n")
    say(f"worker SIGKILLed {KILLS} times during a batch of {LETTERS} letters (when {kills_at} were sent); "
        f"{len(letters)} letters made once each, {len(files) - 1} PDFs, {len(sends)} sends, {len(messages)} e-mails "
        f"with distinct ids, done in {elapsed:.0f}s: nothing lost, nothing twice")
