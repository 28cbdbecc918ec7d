"""A real `celery worker` process for the tests that kill workers or the broker: started in its own
process group (so SIGKILL takes its children too) with the given environment, logging to a file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings


def worker_start(env: dict[str, str], log: Path, *, queue: str, pool: str = "solo",
                 concurrency: int = 1) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "attendance_portal", "worker", "-Q", queue, f"--pool={pool}",
         f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-l", "WARNING", "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h"],
        cwd=settings.BASE_DIR, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def worker_kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no warm shutdown; prefetched and running tasks die with it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
