"""The load test's settings: production's, served over plain HTTP on loopback (no TLS in front).

Only what HTTP on 127.0.0.1 requires differs from production: no HTTPS redirect or secure-only cookies,
static files without a collected manifest, and mail written to files under var/loadtest. And the clock:
with LOADTEST_CLOCK set (the school's local time, as `python -m loadtest` sets it), every process that
loads these settings runs from that moment and ticks on, so the morning peak is played at 08:50 with its
registers open, whatever time the test is run. The database's own clock is left alone.
"""

import datetime as dt
import os
from zoneinfo import ZoneInfo

os.environ.setdefault("SECRET_KEY", "loadtest-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

from .production import *  # noqa: F403
from .production import BASE_DIR, STORAGES, TIME_ZONE

if os.environ.get("LOADTEST_CLOCK"):
    import time_machine

    time_machine.travel(dt.datetime.fromisoformat(os.environ["LOADTEST_CLOCK"]).replace(tzinfo=ZoneInfo(TIME_ZONE)),
                        tick=True).start()

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = BASE_DIR / "var" / "loadtest" / "mail"
