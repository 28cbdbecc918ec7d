"""Production settings: secrets have no defaults; HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # required: no default outside development
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Web, workers and beat never run as the tables' owner or a superuser (`migrate` uses DATABASE_OWNER_URL).
DATABASE_REFUSE_PRIVILEGED = env.bool("DATABASE_REFUSE_PRIVILEGED", default=True)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Mail carries invitation links: production names its mail backend, and never one that writes
# messages to the console, a file or memory (they would end up in logs).
EMAIL_BACKEND = env("EMAIL_BACKEND")
if EMAIL_BACKEND.split(".")[-2:-1] and EMAIL_BACKEND.split(".")[-2] in {"console", "filebased", "locmem", "dummy"}:
    raise ImproperlyConfigured(
        "EMAIL_BACKEND must send mail in production (for example django.core.mail.backends.smtp.EmailBackend)")
