"""Bad configuration gives one clear line, and production settings pass `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]
PROD = {
    "DJANGO_SETTINGS_MODULE": "attendance_portal.settings.production",
    "SECRET_KEY": "x8!Qv2#pR7zL0m$Kd4@wN9tB6yH1cF3gJ5sA8eU0iO2pZ7rT4kX9vM6nB1qW3eY5",
    "ALLOWED_HOSTS": "attendance.example.org.uk",
    "DATABASE_URL": "postgres://app@127.0.0.1:1/attendance",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL",
                                                              "SECRET_KEY", "DJANGO_SETTINGS_MODULE",
                                                              "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, *args], cwd=BASE, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


def test_check_deploy_reports_no_issues_with_production_settings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PROD)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_missing_secret_key_in_production_is_one_clear_line():
    env = {k: v for k, v in PROD.items() if k != "SECRET_KEY"}
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == ["configuration error: Set the SECRET_KEY environment variable"], result.stderr


def test_unreachable_database_is_one_clear_line():
    result = _run(["manage.py", "migrate", "--plan"], PROD)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("database error: cannot use the database at DATABASE_URL"), lines[0]


def test_dev_stack_reports_an_unreachable_database_in_one_line():
    result = _run(["-m", "attendance_portal.devstack", "exec", "--", "true"],
                  {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to the database at DATABASE_URL")


def test_dev_stack_reports_an_unreachable_redis_in_one_line():
    db = os.environ["DATABASE_URL"]
    result = _run(["-m", "attendance_portal.devstack", "exec", "--", "true"],
                  {"DATABASE_URL": db, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: cannot reach Redis at REDIS_URL")


def test_production_must_name_a_mail_backend_that_sends():
    missing = {k: v for k, v in PROD.items() if k != "EMAIL_BACKEND"}
    result = _run(["manage.py", "check"], missing)
    assert result.stderr.strip().splitlines() == ["configuration error: Set the EMAIL_BACKEND environment variable"]
    console = {**PROD, "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    result = _run(["manage.py", "check"], console)
    assert result.returncode != 0 and "EMAIL_BACKEND must send mail in production" in result.stderr
