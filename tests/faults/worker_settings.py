"""Settings for the real Celery worker of the Redis-outage scenario: families' messages and letters."""

import os

from attendance_portal.settings.test import *  # noqa: F403
from attendance_portal.settings.test import DATABASES

# One file per e-mail in the folder named by LETTERS_MAILBOX, so the scenario counts what really went.
EMAIL_BACKEND = "tests.letters.mailbox.DirectoryBackend"
DATABASES["default"]["NAME"] = os.environ["FAULTS_TEST_DATABASE"]
