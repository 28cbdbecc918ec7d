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

BEAT_SCHEDULE |= {
    # Termly governor reports: each school whose term ended the day before gets its report made, and
    # requests a lost task dropped are sent again.
    "reporting-governor-reports": {
        "task": "reporting.governor_reports_daily",
        "schedule": crontab(hour=2, minute=30),
    },
}
