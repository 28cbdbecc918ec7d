"""Beat entries for casework, merged into CELERY_BEAT_SCHEDULE by the settings."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "interventions-sweep-case-sync": {
        "task": "interventions.cases_sweep",
        "schedule": crontab(minute="*/30"),
    },
}
