"""Beat entries for penalty notices, merged into CELERY_BEAT_SCHEDULE by the settings."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # After the nightly statistics, so the day's marks are in.
    "penalties-notices-to-improve-check": {"task": "penalties.notices_to_improve_check_all",
                                           "schedule": crontab(hour=5, minute=30)},
    "penalties-evidence-packs-sweep": {"task": "penalties.evidence_packs_sweep", "schedule": 120.0},
    "penalties-notices-overdue": {"task": "penalties.notices_overdue", "schedule": crontab(hour=1, minute=15)},
}
