"""Settings shared by every environment; values come from the environment (django-environ)."""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

from absence.schedule import BEAT_SCHEDULE as ABSENCE_BEAT_SCHEDULE
from interventions.schedule import BEAT_SCHEDULE as INTERVENTIONS_BEAT_SCHEDULE
from letters.schedule import BEAT_SCHEDULE as LETTERS_BEAT_SCHEDULE
from penalties.schedule import BEAT_SCHEDULE as PENALTIES_BEAT_SCHEDULE
from registers.schedule import BEAT_SCHEDULE as REGISTERS_BEAT_SCHEDULE
from reporting.schedule import BEAT_SCHEDULE as REPORTING_BEAT_SCHEDULE
from staff.schedule import BEAT_SCHEDULE as STAFF_BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY: str = env("SECRET_KEY")
DEBUG: bool = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rules",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_filters",
    "django_htmx",
    "django_celery_beat",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "attendance_portal",
    "registers",
    "absence",
    "interventions",
    "letters",
    "penalties",
    "reporting",
    "staff",
    "accesslog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "attendance_portal.badinput.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.fast_reads.OTPMiddleware",  # django-otp's, reading the device in SQL
    "accounts.sessions.SessionLimitsMiddleware",
    "accounts.mfa.MfaMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "attendance_portal.headers.NoStoreForSignedInMiddleware",
    "attendance_portal.middleware.TenantScopeMiddleware",
]

ROOT_URLCONF = "attendance_portal.urls"
WSGI_APPLICATION = "attendance_portal.wsgi.application"
ASGI_APPLICATION = "attendance_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "attendance_portal.context_processors.tenancy",
                "attendance_portal.context_processors.csp_nonce",
            ],
        },
    },
]

# Two roles (README: Database roles). DATABASE_URL is the application's role, which owns nothing;
# DATABASE_OWNER_URL is the owner, used only by `migrate` (which then grants the application role its
# privileges). With no owner URL, migrate runs as DATABASE_URL's role and nothing is granted.
DATABASES = {"default": env.db("DATABASE_URL")}
# PostgreSQL, with the tenant scope carried to the row-level security policies (attendance_portal.rls).
DATABASES["default"]["ENGINE"] = "attendance_portal.pgbackend"
DATABASE_APP_ROLE: str = DATABASES["default"]["USER"]
DATABASE_OWNER: dict | None = env.db("DATABASE_OWNER_URL") if env("DATABASE_OWNER_URL", default="") else None
# Refuse to run on a connection that is a superuser or owns the tables (on in production and in tests).
DATABASE_REFUSE_PRIVILEGED: bool = env.bool("DATABASE_REFUSE_PRIVILEGED", default=False)
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "attendance_portal.User"
AUTHENTICATION_BACKENDS = [
    "accounts.brake.BrakeBackend",  # first: a braked sign-in is refused before any password is checked
    "rules.permissions.ObjectPermissionBackend",
    "accounts.fast_reads.ModelBackend",  # Django's, reading the signed-in user in SQL
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Attendance portal")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Proxies in front of the app that append to X-Forwarded-For (0: the app faces clients directly).
# The sign-in brake counts per real client address, so this must match the deployment.
TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)
# Session limits (accounts.sessions): staff are signed out after 30 idle minutes and 12 hours at most,
# so shared office PCs do not stay signed in; parents, on their own devices, stay signed in longer.
SESSION_IDLE_MINUTES_STAFF: int = env.int("SESSION_IDLE_MINUTES_STAFF", default=30)
SESSION_MAX_HOURS_STAFF: int = env.int("SESSION_MAX_HOURS_STAFF", default=12)
SESSION_IDLE_MINUTES_PARENT: int = env.int("SESSION_IDLE_MINUTES_PARENT", default=7 * 24 * 60)
SESSION_MAX_HOURS_PARENT: int = env.int("SESSION_MAX_HOURS_PARENT", default=30 * 24)
SESSION_COOKIE_AGE = max(SESSION_MAX_HOURS_STAFF, SESSION_MAX_HOURS_PARENT) * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "accounts.fast_reads"  # Django's database sessions, loaded in SQL
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), never from the cookie

# Content-Security-Policy (django-csp) on every response: scripts and styles only from this site's static
# files, or an inline tag carrying the request's nonce. No 'unsafe-inline', no 'unsafe-eval', nothing from
# another origin (Swagger UI's assets come from drf-spectacular-sidecar's static files).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

REDIS_URL: str = env("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="attendance@localhost")
# The address links in e-mails sent from background tasks start with (staff invitations re-sent by the sweeper).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# How long an invitation link works (it also stops working once used, or when a newer one is sent).
INVITATION_VALID_HOURS: int = env.int("INVITATION_VALID_HOURS", default=72)

# A mail server that stops answering fails the send (and it is tried again) instead of holding a worker.
EMAIL_TIMEOUT: int = env.int("EMAIL_TIMEOUT", default=30)
# Family messages are sent by tasks on this queue (see absence.notifications). A transient failure is
# tried again after MESSAGES_RETRY_SECONDS, doubling up to MESSAGES_RETRY_MAX_SECONDS, at most
# MESSAGES_MAX_ATTEMPTS times; a claim whose worker died is taken over after MESSAGES_LEASE_SECONDS;
# a message not sent within MESSAGES_SEND_WITHIN_HOURS is marked failed rather than sent late.
MESSAGES_QUEUE: str = env("MESSAGES_QUEUE", default="celery")
MESSAGES_LEASE_SECONDS: int = env.int("MESSAGES_LEASE_SECONDS", default=300)
MESSAGES_RETRY_SECONDS: int = env.int("MESSAGES_RETRY_SECONDS", default=30)
MESSAGES_RETRY_MAX_SECONDS: int = env.int("MESSAGES_RETRY_MAX_SECONDS", default=1800)
MESSAGES_MAX_ATTEMPTS: int = env.int("MESSAGES_MAX_ATTEMPTS", default=6)
MESSAGES_SEND_WITHIN_HOURS: int = env.int("MESSAGES_SEND_WITHIN_HOURS", default=24)

# Celery: JSON only, late acknowledgement so a killed worker's task is redelivered,
# and time limits so one stuck school cannot hold a worker forever.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60 * 30
CELERY_TASK_SOFT_TIME_LIMIT = 60 * 25
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The nightly statistics run does this many schools per task (see reporting.tasks).
STATS_BATCH_SCHOOLS: int = env.int("STATS_BATCH_SCHOOLS", default=25)
# A letter claimed by a worker that has since died may be taken over after this many seconds.
LETTERS_LEASE_SECONDS: int = env.int("LETTERS_LEASE_SECONDS", default=300)
# The queue letter rendering goes to, so PDFs can have workers of their own.
LETTERS_QUEUE: str = env("LETTERS_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE = {**REGISTERS_BEAT_SCHEDULE, **REPORTING_BEAT_SCHEDULE, **ABSENCE_BEAT_SCHEDULE,
                        **STAFF_BEAT_SCHEDULE, **LETTERS_BEAT_SCHEDULE, **INTERVENTIONS_BEAT_SCHEDULE,
                        **PENALTIES_BEAT_SCHEDULE}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: DRF's browsable pages carry inline styles the CSP refuses; /api/v1/docs/ is the API browser.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "attendance_portal.pagination.CheckedLimitOffsetPagination",
    "PAGE_SIZE": 200,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": "2000/hour", "anon": "60/hour"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Attendance portal API",
    "DESCRIPTION": "School-scoped API for registers, absence and attendance data.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs are for signed-in users, and Swagger UI is served from our own static files.
    "SERVE_PUBLIC": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models call their choice field "kind"; each choice set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "LetterKindEnum": "letters.models.LetterKind",
        "AccessKindEnum": "accesslog.models.AccessKind",
    },
}


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.security": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Where the demo data and product texts look for the shared reference folder.
SHARED_DIR = Path(env("SHARED_DIR", default=str(BASE_DIR.parent / "shared")))
