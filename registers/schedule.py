"""Beat entries for registers, merged into CELERY_BEAT_SCHEDULE by the settings."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "registers-import-batches-sweep": {
        "task": "registers.import_batches_sweep",
        "schedule": crontab(minute="*/10"),
    },
}
