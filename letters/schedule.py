"""Beat entries for letters, merged into CELERY_BEAT_SCHEDULE by the settings.

The sweeper re-enqueues letters and batches that a lost broker message or a killed worker left behind;
claims make a duplicate harmless, so running it every minute costs one indexed query.
"""

BEAT_SCHEDULE = {
    "letters-sweep": {"task": "letters.sweep", "schedule": 60.0},
}
