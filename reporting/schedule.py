"""Beat entries for the statistics engine, merged into CELERY_BEAT_SCHEDULE by the settings.

The nightly run starts after midnight (Europe/London, CELERY_TIMEZONE) when registers are closed.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "reporting-nightly-statistics": {
        "task": "reporting.stats_nightly",
        "schedule": crontab(hour=1, minute=15),
    },
    "reporting-sweep-statistics": {
        "task": "reporting.stats_sweep",
        "schedule": crontab(minute="*/30"),
    },
}
