"""The load test's settings: production's, served over plain HTTP on loopback (no TLS in front).

Only what HTTP on 127.0.0.1 requires differs from production: no HTTPS redirect or secure-only cookies,
static files without a collected manifest, and mail written to files under var/loadtest.
"""

import os

os.environ.setdefault("SECRET_KEY", "loadtest-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

from .production import *  # noqa: F403
from .production import BASE_DIR, STORAGES

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = BASE_DIR / "var" / "loadtest" / "mail"
