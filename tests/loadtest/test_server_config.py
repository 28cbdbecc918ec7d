"""One web server configuration: production's image and the load test both start gunicorn with gunicorn.conf.py,
and the application it preloads in the master connects to nothing while loading (so no connection is shared by
the forked workers)."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

from gunicorn.config import Config

from loadtest.__main__ import web_command

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "gunicorn.conf.py"


def _settings() -> Config:
    """The file read as gunicorn reads it (every name that is one of its settings)."""
    cfg = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name in cfg.settings:
            cfg.set(name.lower(), value)
    return cfg


def test_the_server_runs_sync_workers_two_per_core_preloaded_and_recycled(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    cfg = _settings()
    assert cfg.worker_class_str == "sync"
    assert cfg.workers == 2 * (os.cpu_count() or 1)
    assert cfg.preload_app is True
    assert cfg.max_requests > 0 and cfg.max_requests_jitter > 0
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert _settings().workers == 3


def test_production_and_the_load_test_start_gunicorn_with_the_same_file(tmp_path):
    command = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD"))
    assert '"gunicorn", "-c", "gunicorn.conf.py"' in command
    web = web_command(port=8123, workers=4, access=tmp_path / "access.log")
    assert web[web.index("-c") + 1] == str(CONF)
    assert web[web.index("-w") + 1] == "4" and "127.0.0.1:8123" in web


def test_loading_the_application_connects_to_nothing():
    # Unreachable servers: any connection made while the app loads (in gunicorn's master) would fail here.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "attendance_portal.settings.loadtest",
           "DATABASE_URL": "postgres://x@127.0.0.1:1/x", "REDIS_URL": "redis://127.0.0.1:1/0"}
    env.pop("LOADTEST_CLOCK", None)
    # Every socket connect is refused on the spot, and so is any reached through a library's retries.
    script = ("import socket, sys\n"
              "def refuse(self, *a, **k): raise SystemExit(f'connected while loading: {a}')\n"
              "socket.socket.connect = refuse\n"
              "import attendance_portal.wsgi\n"
              "print('loaded', 'kombu.transport.redis' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # and what the first task sent would import is loaded already, to be shared by the forked workers
    assert done.stdout.strip() == "loaded True"
