"""Letters: PDF throughput per worker process and the time to the merged print file.

    make bench ARGS="letters"                     500 one-page letters, one process per core
    make bench ARGS="letters --letters=100 --workers=1"

A batch is requested through `letters_create` (the real service), then each worker process claims and
renders its share through `letter_render`, exactly as a Celery prefork worker would, and sends through
`letter_send` (e-mail to the in-memory backend). The figure is letters per second per process. Then
`batch_finish` merges the posted letters into the print file, timed. Finally one process renders 50
letters with each stage timed apart, to say where the time goes.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time

from django.conf import settings
from django.db import connections, transaction
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School, User
from letters import services
from letters.defaults import templates_install_defaults
from letters.demo import families_bulk_create
from letters.models import Letter, LetterBatch, LetterSend
from letters.rendering import _CSS, _FONTS, LocalOnlyFetcher, letter_html


def _option(args: list[str], name: str, default: int) -> int:
    for arg in args:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _setup(letters: int) -> tuple[School, User, LetterBatch]:
    stamp = int(time.time())
    with scopes_disabled():
        school = School.objects.create(name=f"Letters Bench {stamp}", slug=f"letters-bench-{stamp}")
        officer = User.objects.create(username=f"letters-bench-{stamp}", first_name="Sam", last_name="Reid",
                                      position="Attendance officer")
        templates_install_defaults(school=school, kinds=["stage_1"])
        pupils = families_bulk_create(school=school, count=letters, upn_prefix=f"B{stamp % 10**6:06d}",
                                      email=lambda n: "" if n % 3 == 0 else f"parent{n}@example.org")
    day = dt.date(2025, 10, 6)
    sessions = [(day, "AM", "O"), (day, "PM", "O"), (day + dt.timedelta(days=1), "AM", "I")]
    with scope(school=school), transaction.atomic():
        batch = services.letters_create(school=school, kind="stage_1", by=officer, approved_by=officer, on=day,
                                        items=[services.LetterItem(pupil=p, sessions=sessions) for p in pupils])
    return school, officer, batch


def _work(school_id: int, letter_ids: list[int], queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    connections.close_all()  # a fresh connection in the child, as a prefork worker has
    school = School.objects.get(pk=school_id)
    started, cpu = time.perf_counter(), time.process_time()
    with scope(school=school):
        for letter_id in letter_ids:
            services.letter_render(letter_id=letter_id)
            services.letter_send(letter_id=letter_id)
    queue.put((len(letter_ids), time.perf_counter() - started, time.process_time() - cpu))


def _stages(school: School, sample: list[Letter]) -> dict[str, float]:
    from weasyprint import HTML

    totals = {"html (sandboxed template + page)": 0.0, "layout (WeasyPrint)": 0.0, "pdf writing": 0.0}
    for letter in sample:
        t0 = time.perf_counter()
        html = letter_html(subject=letter.template.subject, body=letter.template.body, data=letter.merge_data,
                           reply_slip=letter.template.reply_slip)
        t1 = time.perf_counter()
        document = HTML(string=html, url_fetcher=LocalOnlyFetcher()).render(stylesheets=[_CSS], font_config=_FONTS)
        t2 = time.perf_counter()
        document.write_pdf()
        t3 = time.perf_counter()
        totals["html (sandboxed template + page)"] += t1 - t0
        totals["layout (WeasyPrint)"] += t2 - t1
        totals["pdf writing"] += t3 - t2
    return {k: v / len(sample) * 1000 for k, v in totals.items()}


def run(args: list[str]) -> None:
    letters = _option(args, "letters", 500)
    workers = _option(args, "workers", os.cpu_count() or 1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services._enqueue = lambda school_id, letter_ids: None  # the bench's own processes do the work, not a broker
    print(f"letters: {letters}, worker processes: {workers}, cores: {os.cpu_count()}, "
          f"load average now: {os.getloadavg()[0]:.1f}", flush=True)
    t0 = time.perf_counter()
    school, _officer, batch = _setup(letters)
    print(f"request {letters} letters (rows, merge data, figures): {time.perf_counter() - t0:.2f}s", flush=True)
    with scopes_disabled():
        ids = list(Letter.objects.filter(batch=batch).order_by("envelope_order").values_list("pk", flat=True))
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    shares = [ids[n::workers] for n in range(workers)]
    t1 = time.perf_counter()
    processes = [context.Process(target=_work, args=(school.pk, share, queue)) for share in shares]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    wall = time.perf_counter() - t1
    per_process = [count / seconds for count, seconds, _ in results]
    per_cpu = sum(count for count, _, _ in results) / sum(cpu for _, _, cpu in results)
    with scopes_disabled():
        made = Letter.objects.filter(batch=batch, status=Letter.Status.SENT)
        pages = sorted(set(made.values_list("pages", flat=True)))
        sends = LetterSend.objects.filter(letter__batch=batch).count()
    print(f"rendered and sent: {made.count()} letters ({sends} sends), pages per letter: {pages}", flush=True)
    print(f"letters per second per worker process: {sum(per_process) / len(per_process):.2f} "
          f"(each: {', '.join(f'{r:.2f}' for r in per_process)}); all processes: {letters / wall:.2f}/s, "
          f"wall {wall:.1f}s", flush=True)
    print(f"letters per CPU-second of a worker process (what one uncontended core does): {per_cpu:.2f}; the "
          "difference from the figure above is time spent waiting for the CPU or the database", flush=True)
    t2 = time.perf_counter()
    with scope(school=school):
        services.batch_finish(batch_id=batch.pk)
        batch.refresh_from_db()
    print(f"merged print file: {batch.print_letters} letters in {time.perf_counter() - t2:.2f}s", flush=True)
    with scope(school=school):
        sample = list(Letter.objects.filter(batch=batch).select_related("template")[:50])
        stages = _stages(school, sample)
    total = sum(stages.values())
    print("where the time goes, per letter (one process, 50 letters): " + ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in stages.items()) + f"; total {total:.0f} ms", flush=True)
