"""Settings for a real Celery worker process started by the Redis-outage test of family messages."""

import os

from attendance_portal.settings.test import *  # noqa: F403
from attendance_portal.settings.test import DATABASES

# One file per e-mail in the folder named by LETTERS_MAILBOX, so the test counts what really went.
EMAIL_BACKEND = "tests.letters.mailbox.DirectoryBackend"
DATABASES["default"]["NAME"] = os.environ["MESSAGES_TEST_DATABASE"]
