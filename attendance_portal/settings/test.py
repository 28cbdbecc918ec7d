"""Test settings: real PostgreSQL (embedded unless DATABASE_URL is set), fast hashing, local email."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, STORAGES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DATABASES["default"]["CONN_MAX_AGE"] = 0
# The suite runs as production does: as the application role, never the owner (tests/conftest.py
# creates and flushes the test databases as the owner).
DATABASE_REFUSE_PRIVILEGED = True
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_CLASSES": [],
}
