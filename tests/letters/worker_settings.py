"""Settings for a real Celery worker process started by the exactly-once test."""

import os

from attendance_portal.settings.test import *  # noqa: F403
from attendance_portal.settings.test import DATABASES

EMAIL_BACKEND = "tests.letters.mailbox.DirectoryBackend"
DATABASES["default"]["NAME"] = os.environ["LETTERS_TEST_DATABASE"]
LETTERS_LEASE_SECONDS = int(os.environ.get("LETTERS_LEASE_SECONDS", "4"))
LETTERS_QUEUE = os.environ["LETTERS_QUEUE"]
